import { readdirSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  collectOrphanXComs,
  deleteRunObjects,
  openXComStore,
  pruneFinishedRuns,
  resolveValue,
  runLocal,
  storePrefix,
  TaskRunError,
} from '../index.js'
import { openFreshDatabase, type S3TestServer, startS3Server } from '../testing/index.js'
import { useFreshDatabase } from '../testing/vitest.js'
import { useTempFolder } from './use-temp-folder.js'

/*
 * Large XComs through both stores: a folder and a real S3 API server on 127.0.0.1 (s3rver), spoken
 * to by @aws-sdk/client-s3 with SigV4. A value above the threshold is written to the store before
 * the completion that records its reference; downstream tasks and runLocal read it back as if it
 * were stored inline.
 */
const db = useFreshDatabase()
const folder = useTempFolder('podline-xcoms-')
let s3: S3TestServer
beforeAll(async () => {
  s3 = await startS3Server()
})
afterAll(async () => {
  await s3.close()
})

/** A TCP server that accepts every connection and never sends a byte: a hung endpoint. */
async function startHungServer(): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  let count = 0
  const server = createServer((socket) => {
    count++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    connections: () => count,
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

const big = (n: number) => ({ rows: Array.from({ length: n }, (_, i) => ({ i, name: `row ${i}` })) })

const stores = {
  file: () => ({ xcomStore: pathToFileURL(join(folder.path, 'store')).href }),
  s3: () => ({ xcomStore: `s3://${s3.bucket}/runs`, s3Endpoint: s3.endpoint }),
}

for (const [name, options] of Object.entries(stores)) {
  describe(`the ${name} XCom store`, () => {
    it('offloads a value over the threshold and hands it back whole, downstream and from runLocal', async () => {
      const p = pipeline(`xcom-big-${name}`)
        .task('make', () => big(5000))
        .task('small', () => ({ n: 1 }))
        .task('count', { needs: ['make', 'small'] }, ({ make, small }) => make.rows.length + small.n)
      const out = await runLocal(p, {}, { database: db.database, ...options(), xcomOffloadBytes: 1024 })
      expect(out.count).toBe(5001)
      expect(out.make).toEqual(big(5000))
      const rows = await db.database.rows<{
        task: string
        bytes: number
        size: number
        ref: string | null
      }>(sql`
        select x.task, octet_length(x.value::text) as bytes, x.size, x.value -> '$podline' ->> 'store' as ref
        from podline.xcoms x join podline.runs r on r.id = x.run_id
        where r.pipeline = ${p.name} and x.key = 'return_value' order by x.task`)
      const make = rows.find((r) => r.task === 'make')
      expect(make?.ref).toBe(options().xcomStore.replace(/\/$/, ''))
      expect(make?.bytes).toBeLessThan(1024)
      expect(make?.size).toBeGreaterThan(100_000)
      // Small values stay in their rows.
      expect(rows.find((r) => r.task === 'small')?.ref).toBeNull()
    })

    it('refuses an object changed after it was written, naming the store and both checksums', async () => {
      const { xcomStore, ...rest } = options()
      const store = await openXComStore(xcomStore, rest)
      // Between the two tasks, another overwrites the object the reference points at.
      const run = runLocal(
        pipeline(`xcom-tampered-${name}`)
          .task('make', () => big(2000))
          .task('spoil', { needs: ['make'] }, async (_inputs, ctx) => {
            const [row] = await db.database.rows<{ key: string }>(sql`
              select value -> '$podline' ->> 'key' as key from podline.xcoms
              where run_id = ${ctx.runId}::uuid and task = 'make' and key = 'return_value'`)
            await store.put(row?.key ?? '', Buffer.from('{"rows": []}'))
            return 1
          })
          .task('read', { needs: ['make', 'spoil'] }, async ({ make }) => make.rows.length),
        {},
        { database: db.database, ...options(), xcomOffloadBytes: 1024 },
      )
      const error = await run.catch((e: unknown) => e)
      await store.close()
      expect(error).toBeInstanceOf(TaskRunError)
      expect((error as Error).message).toMatch(
        /the output of task "make" in .* is not the object that was stored: 12 bytes with sha256 [0-9a-f]{64}, expected \d+ bytes/,
      )
    })
  })
}

describe('a mapped task whose items return large values', () => {
  it('keeps each item in an object of its own; the downstream and runLocal get the array whole', async () => {
    const p = pipeline('xcom-mapped')
      .task('list', () => ({ sizes: [3000, 10, 2000] }))
      .map('make', { needs: ['list'], over: ({ list }) => list.sizes }, (n) => big(n))
      .task('count', { needs: ['make'] }, ({ make }) => make.map((m) => m.rows.length))
    const url = pathToFileURL(join(folder.path, 'mapped')).href
    const out = await runLocal(p, {}, { database: db.database, xcomStore: url, xcomOffloadBytes: 1024 })
    expect(out.count).toEqual([3000, 10, 2000])
    expect(out.make).toEqual([big(3000), big(10), big(2000)])
    const store = await openXComStore(url)
    const keys: string[] = []
    for await (const o of store.list('xcoms/')) keys.push(o.key)
    await store.close()
    // Items 0 and 2 are over the threshold, item 1 is not: two objects, one per item.
    expect(keys.map((k) => k.split('/')[4]?.split('-')[0]).sort()).toEqual(['i0', 'i2'])
  })
})

describe('pruning runs whose values are in the store', () => {
  it("deletes a pruned run's objects with its rows, and leaves other runs' alone", async () => {
    const url = pathToFileURL(join(folder.path, 'prune')).href
    const p = pipeline('xcom-prune').task('make', () => big(2000))
    await runLocal(p, {}, { database: db.database, xcomStore: url, xcomOffloadBytes: 1024 })
    await runLocal(p, {}, { database: db.database, xcomStore: url, xcomOffloadBytes: 1024 })
    const [old] = await db.database.rows<{ id: string }>(sql`
      update podline.runs set finished_at = now() - interval '40 days'
      where id = (select id from podline.runs where pipeline = 'xcom-prune' order by created_at limit 1)
      returning id::text`)
    const store = await openXComStore(url)
    const runsWithObjects = async () => {
      const runs = new Set<string>()
      for await (const o of store.list('xcoms/')) runs.add(o.key.split('/')[2] ?? '')
      return runs
    }
    expect((await runsWithObjects()).size).toBe(2)
    const pruned = await pruneFinishedRuns(db.database, {
      olderThanMs: 30 * 86_400_000,
      onPruned: async (runIds) =>
        void (await deleteRunObjects(
          db.database,
          { store, prefix: storePrefix(await db.database.storeId()) },
          runIds,
        )),
    })
    expect(pruned).toBe(1)
    const left = await runsWithObjects()
    expect(left.size).toBe(1)
    expect(left.has(old?.id ?? '')).toBe(false)
    await store.close()
  })
})

describe('the XCom store, when things go wrong', () => {
  it('a store that is down fails the attempt as retryable, naming the store', async () => {
    let attempts = 0
    const p = pipeline('xcom-store-down').task('make', { retries: 1, retryDelay: 10 }, () => {
      attempts++
      return big(2000)
    })
    const error = await runLocal(
      p,
      {},
      {
        database: db.database,
        xcomStore: 's3://nowhere/runs',
        s3Endpoint: 'http://127.0.0.1:1',
        xcomOffloadBytes: 1024,
      },
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskRunError)
    expect((error as Error).message).toMatch(
      /writing xcoms\/.* in the XCom store s3:\/\/nowhere\/runs failed/,
    )
    expect(attempts).toBe(2)
  })

  it('a store that accepts connections and never answers: the task timeout covers the upload, and every call has a deadline', async () => {
    const hung = await startHungServer()
    try {
      const options = {
        database: db.database,
        xcomStore: 's3://hung/runs',
        s3Endpoint: `http://127.0.0.1:${hung.port}`,
        xcomOffloadBytes: 1024,
      }
      const timed = pipeline('xcom-store-hung').task('make', { timeout: 1500 }, () => big(2000))
      const timedOut = await runLocal(timed, {}, options).catch((e: unknown) => e)
      expect(timedOut).toBeInstanceOf(TaskRunError)
      expect((timedOut as Error).message).toMatch(
        /timed out after 1500 ms .*while writing its output to the XCom store s3:\/\/hung\/runs/,
      )
      // No task timeout: the store's own deadline ends the call, and the error names the store.
      const untimed = pipeline('xcom-store-hung-untimed').task('make', () => big(2000))
      const failed = await runLocal(untimed, {}, { ...options, s3TimeoutMs: 1000 }).catch((e: unknown) => e)
      expect(failed).toBeInstanceOf(TaskRunError)
      expect((failed as Error).message).toMatch(
        /writing xcoms\/.* in the XCom store s3:\/\/hung\/runs failed/,
      )
      expect(hung.connections()).toBeGreaterThan(0)
    } finally {
      await hung.close()
    }
  })

  it('an output using the reserved key is refused, with the fix', async () => {
    const p = pipeline('xcom-reserved').task('make', () => ({ $podline: 1 }))
    const error = await runLocal(p, {}, { database: db.database }).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(
      /has the top-level key "\$podline", which Podline reserves .*; rename that key/,
    )
  })

  it('an unknown scheme is refused, naming the forms it takes', async () => {
    await expect(openXComStore('ftp://host/x')).rejects.toThrow(
      /the scheme ftp: is not one Podline stores XComs in; use file:\/\/\/absolute\/folder or s3:\/\/bucket\/prefix/,
    )
  })

  it('collects objects no row references once past the grace period, and keeps the referenced ones', async () => {
    const root = join(folder.path, 'gc')
    const url = pathToFileURL(root).href
    const p = pipeline('xcom-gc').task('make', () => big(2000))
    await runLocal(p, {}, { database: db.database, xcomStore: url, xcomOffloadBytes: 1024 })
    const store = await openXComStore(url)
    const prefix = storePrefix(await db.database.storeId())
    const orphan = `${prefix}00000000-0000-4000-8000-000000000000/make/1-1/return_value.json`
    await store.put(orphan, Buffer.from('{}'))
    writeFileSync(join(root, 'not-podline.txt'), 'left alone')
    const listed = async () => {
      const keys: string[] = []
      for await (const o of store.list('xcoms/')) keys.push(o.key)
      return keys.sort()
    }
    expect(await listed()).toHaveLength(2)
    // Within the grace period nothing goes: the orphan may be a completion about to commit.
    expect(await collectOrphanXComs(db.database, { store, prefix }, { graceMs: 3_600_000 })).toBe(0)
    const later = new Date(Date.now() + 2 * 3_600_000)
    expect(await collectOrphanXComs(db.database, { store, prefix }, { graceMs: 3_600_000, now: later })).toBe(
      1,
    )
    const left = await listed()
    expect(left).toHaveLength(1)
    expect(left[0]).not.toBe(orphan)
    expect(readdirSync(root)).toContain('not-podline.txt')
    await store.close()
  })
})

describe('databases that share one XCom store', () => {
  for (const [name, options] of Object.entries(stores)) {
    it(`each collects and prunes only its own objects (${name})`, async () => {
      const other = await openFreshDatabase()
      try {
        const p = pipeline(`xcom-shared-${name}`).task('make', () => big(2000))
        const opts: { xcomStore: string; s3Endpoint?: string; xcomOffloadBytes: number } = {
          ...options(),
          xcomOffloadBytes: 1024,
        }
        await runLocal(p, {}, { database: db.database, ...opts })
        await runLocal(p, {}, { database: other.database, ...opts })
        const store = await openXComStore(
          opts.xcomStore,
          opts.s3Endpoint ? { s3Endpoint: opts.s3Endpoint } : {},
        )
        const ours = { store, prefix: storePrefix(await db.database.storeId()) }
        const otherPrefix = storePrefix(await other.database.storeId())
        expect(otherPrefix).not.toBe(ours.prefix)
        const objectsUnder = async (prefix: string) => {
          const keys: string[] = []
          for await (const o of store.list(prefix)) keys.push(o.key)
          return keys
        }
        const otherObjects = await objectsUnder(otherPrefix)
        expect(otherObjects).toHaveLength(1)
        // Long past the grace period, our collection leaves theirs alone (it deleted them before
        // objects had a folder per database).
        const later = new Date(Date.now() + 2 * 3_600_000)
        await collectOrphanXComs(db.database, ours, { graceMs: 3_600_000, now: later })
        expect(await objectsUnder(otherPrefix)).toEqual(otherObjects)
        // And the other database still reads its value back.
        const [row] = await other.database.rows<{ value: unknown }>(sql`
          select x.value from podline.xcoms x join podline.runs r on r.id = x.run_id
          where r.pipeline = ${p.name} and x.task = 'make'`)
        expect(await resolveValue(store, row?.value, 'make')).toEqual(big(2000))
        await store.close()
      } finally {
        await other.close()
      }
    })
  }

  it('a file store URL with a trailing slash keeps its keys inside the folder', async () => {
    const url = `${pathToFileURL(join(folder.path, 'slash')).href}/`
    const p = pipeline('xcom-trailing-slash')
      .task('make', () => big(2000))
      .task('count', { needs: ['make'] }, ({ make }) => make.rows.length)
    const out = await runLocal(p, {}, { database: db.database, xcomStore: url, xcomOffloadBytes: 1024 })
    expect(out.count).toBe(2000)
    expect(readdirSync(join(folder.path, 'slash'))).toEqual(['xcoms'])
  })
})
