import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type AnyPipeline, pipeline, type TaskDefinition } from '@podline/sdk'
import { type SQL, sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  collectOrphanXComs,
  deleteRunObjects,
  openXComStore,
  pruneFinishedRuns,
  runLocal,
  runTasks,
  storePrefix,
} from '../index.js'
import type { Executor } from '../store/database.js'
import { waitUntil } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'
import { taskCacheKey } from '../worker/task-cache-key.js'
import { useTempFolder } from './use-temp-folder.js'

const db = useFreshDatabase()
const folder = useTempFolder('podline-cache-')

/** How many times each task's function really ran (the worker runs in this process). */
const calls = new Map<string, number>()
const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1)

const features = pipeline('features', { params: z.object({ day: z.string() }) })
  .task('extract', (_in, { params }) => {
    count('extract')
    return { day: params.day, rows: 3 }
  })
  .task('compute', { needs: ['extract'], cache: { version: '1' } }, ({ extract }) => {
    count('compute')
    return { features: extract.rows * 10, day: extract.day }
  })
  .task('publish', { needs: ['compute'] }, ({ compute }) => `${compute.day}: ${compute.features}`)

const tasksOf = async (runId: string) =>
  Object.fromEntries((await runTasks(db.database, runId)).map((t) => [t.task, t]))

describe('cached task results', () => {
  it('skips a cached task on the second run, marks it with the run it came from, and runs it when its input changes', async () => {
    calls.clear()
    let first = ''
    const one = await runLocal(
      features,
      { day: 'mon' },
      {
        database: db.database,
        onRun: (id) => {
          first = id
        },
      },
    )
    expect(one.publish).toBe('mon: 30')
    let second = ''
    const two = await runLocal(
      features,
      { day: 'mon' },
      {
        database: db.database,
        onRun: (id) => {
          second = id
        },
      },
    )
    expect(two).toEqual(one)
    expect(calls.get('compute')).toBe(1)
    expect(calls.get('extract')).toBe(2)
    const tasks = await tasksOf(second)
    expect(tasks.compute?.state).toBe('success')
    expect(tasks.compute?.cachedFrom).toBe(first)
    expect(tasks.extract?.cachedFrom).toBeNull()
    // A new day: extract returns another value, so compute's key differs and it runs.
    const three = await runLocal(features, { day: 'tue' }, { database: db.database })
    expect(three.publish).toBe('tue: 30')
    expect(calls.get('compute')).toBe(2)
  })

  it('runs the task again with the cache bypassed, and its success refreshes the entry', async () => {
    calls.clear()
    let bypassed = ''
    await runLocal(
      features,
      { day: 'mon' },
      {
        database: db.database,
        cache: false,
        onRun: (id) => {
          bypassed = id
        },
      },
    )
    expect(calls.get('compute')).toBe(1)
    expect((await tasksOf(bypassed)).compute?.cachedFrom).toBeNull()
    let after = ''
    await runLocal(
      features,
      { day: 'mon' },
      {
        database: db.database,
        onRun: (id) => {
          after = id
        },
      },
    )
    expect(calls.get('compute')).toBe(1)
    expect((await tasksOf(after)).compute?.cachedFrom).toBe(bypassed)
  })

  it('misses on another version and after the ttl; a custom key decides alone', async () => {
    calls.clear()
    const make = (version: string, ttl?: '200ms') =>
      pipeline('versioned').task('t', { cache: { version, ...(ttl ? { ttl } : {}) } }, () => {
        count('t')
        return 1
      })
    await runLocal(make('1'), {}, { database: db.database })
    await runLocal(make('1'), {}, { database: db.database })
    expect(calls.get('t')).toBe(1)
    await runLocal(make('2'), {}, { database: db.database })
    expect(calls.get('t')).toBe(2)
    await runLocal(make('3', '200ms'), {}, { database: db.database })
    expect(calls.get('t')).toBe(3)
    await waitUntil('the entry to expire', async () => {
      const [row] = await db.database.rows<{ expired: boolean }>(
        sql`select expires_at <= now() as expired from podline.task_cache where pipeline = 'versioned' and expires_at is not null`,
      )
      return row?.expired === true
    })
    await runLocal(make('3', '200ms'), {}, { database: db.database })
    expect(calls.get('t')).toBe(4)

    // The key ignores the timestamp the upstream adds: a new timestamp still hits.
    const stamped = pipeline('stamped')
      .task('read', () => ({ file: 'a.csv', at: Date.now() + Math.random() }))
      .task(
        'parse',
        { needs: ['read'], cache: { version: '1', key: ({ read }) => read.file } },
        ({ read }) => {
          count('parse')
          return read.file.length
        },
      )
    await runLocal(stamped, {}, { database: db.database })
    await runLocal(stamped, {}, { database: db.database })
    expect(calls.get('parse')).toBe(1)
  })

  it('answers the lookups of attempts that reach their cache together with one statement', async () => {
    calls.clear()
    let wide = pipeline('wide') as unknown as {
      task(name: string, options: { cache: { version: string } }, fn: () => unknown): typeof wide
    }
    for (let i = 0; i < 24; i++)
      wide = wide.task(`t${i}`, { cache: { version: '1' } }, () => {
        count('wide')
        return i
      })
    const p = wide as unknown as AnyPipeline
    await runLocal(p, {}, { database: db.database, concurrency: 8 })
    expect(calls.get('wide')).toBe(24)
    // The same store, counting the statements that look entries up.
    let lookups = 0
    const dialect = new PgDialect()
    const counting = new Proxy(db.database, {
      get(target, key, receiver) {
        if (key !== 'rows') return Reflect.get(target, key, receiver)
        return (query: SQL, executor?: Executor) => {
          if (/from jsonb_to_recordset[\s\S]*join podline\.task_cache/.test(dialect.sqlToQuery(query).sql))
            lookups++
          return target.rows(query, executor)
        }
      },
    })
    let runId = ''
    await runLocal(p, {}, { database: counting, concurrency: 8, onRun: (id) => (runId = id) })
    expect(calls.get('wide')).toBe(24)
    expect((await runTasks(db.database, runId)).every((t) => t.cachedFrom !== null)).toBe(true)
    expect(lookups).toBeGreaterThan(0)
    expect(lookups).toBeLessThan(24)
  })

  it('keys a pod task by its spec as rendered: another image misses', async () => {
    const pod = (image: string): TaskDefinition =>
      (pipeline('pods').pod('p', { cache: { version: '1' } }, () => ({ image })) as AnyPipeline)
        .tasks[0] as TaskDefinition
    const ctx = {
      params: {},
      assets: {},
      signal: new AbortController().signal,
      runId: 'r',
      attempt: 1,
      pipeline: 'pods',
      task: 'p',
      log: console,
    }
    const a = await taskCacheKey(pod('alpine:3.20'), 'pods', {}, {}, ctx)
    const again = await taskCacheKey(
      pod('alpine:3.20'),
      'pods',
      {},
      {},
      { ...ctx, runId: 'other', attempt: 2 },
    )
    const b = await taskCacheKey(pod('alpine:3.21'), 'pods', {}, {}, ctx)
    expect(a?.key).toMatch(/^[0-9a-f]{64}$/)
    expect(again?.key).toBe(a?.key)
    expect(b?.key).not.toBe(a?.key)
  })

  it('shares an offloaded cached value, and retention keeps its object while an entry or a run needs it', async () => {
    const url = pathToFileURL(join(folder.path, 'store')).href
    const big = pipeline('big-cached').task('make', { cache: { version: '1', ttl: '1h' } }, () => ({
      rows: Array.from({ length: 500 }, (_, i) => ({ i, name: `row ${i}` })),
    }))
    const options = { database: db.database, xcomStore: url, xcomOffloadBytes: 1024 }
    let producer = ''
    const made = await runLocal(
      big,
      {},
      {
        ...options,
        onRun: (id) => {
          producer = id
        },
      },
    )
    let hit = ''
    const again = await runLocal(
      big,
      {},
      {
        ...options,
        onRun: (id) => {
          hit = id
        },
      },
    )
    expect(again).toEqual(made)
    const store = await openXComStore(url)
    const objects = async () => {
      const keys: string[] = []
      for await (const o of store.list('xcoms/')) keys.push(o.key)
      return keys
    }
    // Shared, not copied: one object, under the producing run, that both runs' rows point to.
    const [only, ...more] = await objects()
    expect(more).toEqual([])
    expect(only).toContain(producer)
    const [hitRow] = await db.database.rows<{ key: string }>(
      sql`select value -> '$podline' ->> 'key' as key from podline.xcoms where run_id = ${hit}::uuid and task = 'make'`,
    )
    expect(hitRow?.key).toBe(only)
    // The producing run is pruned: the entry (and the hit's row) keep its object.
    const prefix = storePrefix(await db.database.storeId())
    await db.database.rows(
      sql`update podline.runs set finished_at = now() - interval '40 days' where id = ${producer}::uuid`,
    )
    const prune = () =>
      pruneFinishedRuns(db.database, {
        olderThanMs: 30 * 86_400_000,
        onPruned: async (runIds) => void (await deleteRunObjects(db.database, { store, prefix }, runIds)),
      })
    expect(await prune()).toBe(1)
    await collectOrphanXComs(db.database, { store, prefix }, { graceMs: 0 })
    expect(await objects()).toEqual([only])
    // A third run still hits, and reads the value whole.
    expect(await runLocal(big, {}, options)).toEqual(made)
    // Once the entry has expired and every run that points to the object is pruned, it goes.
    await db.database.rows(
      sql`update podline.task_cache set expires_at = now() - interval '1 second' where pipeline = 'big-cached'`,
    )
    await db.database.rows(
      sql`update podline.runs set finished_at = now() - interval '40 days' where pipeline = 'big-cached'`,
    )
    expect(await prune()).toBe(2)
    await collectOrphanXComs(db.database, { store, prefix }, { graceMs: 0 })
    expect(await objects()).toEqual([])
    const [entries] = await db.database.rows<{ n: number }>(
      sql`select count(*)::int as n from podline.task_cache where pipeline = 'big-cached'`,
    )
    expect(entries?.n).toBe(0)
    await store.close()
  })
})
