import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Database, openDatabase, triggerPipeline } from '@podline/runner'
import type { AnyPipeline } from '@podline/sdk'
import postgres, { type Sql } from 'postgres'

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** A temp folder with the side-effect file the fixture tasks append to. */
export function sideEffectFolder(): { dir: string; file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'podline-faults-'))
  return {
    dir,
    file: join(dir, 'side-effects.txt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** The test's own connections to a database: Podline's store (to trigger) and plain SQL (to audit). */
export interface Client {
  readonly database: Database
  readonly sql: Sql
  trigger(p: AnyPipeline, params?: unknown): Promise<string>
  /** Triggers `count` runs, `parallel` at a time. */
  triggerMany(p: AnyPipeline, count: number, params?: unknown, parallel?: number): Promise<string[]>
  /** Waits until none of the runs is queued or running; throws with the stragglers after the timeout. */
  waitForRuns(runIds: readonly string[], timeoutMs: number): Promise<void>
  close(): Promise<void>
}

export async function connect(url: string): Promise<Client> {
  const database = await openDatabase({ databaseUrl: url, poolSize: 8 })
  const sql = postgres(url, { max: 2, onnotice: () => {} })
  const trigger = (p: AnyPipeline, params: unknown = {}) => triggerPipeline(database, p, params)
  return {
    database,
    sql,
    trigger,
    async triggerMany(p, count, params = {}, parallel = 8) {
      const ids: string[] = new Array(count)
      let next = 0
      const lane = async () => {
        for (let i = next++; i < count; i = next++) ids[i] = await trigger(p, params)
      }
      await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane))
      return ids
    },
    async waitForRuns(runIds, timeoutMs) {
      const end = Date.now() + timeoutMs
      for (;;) {
        // Queries can fail while the server restarts (the restart test): keep asking until the deadline.
        const open = await sql<{ id: string; state: string }[]>`
          select id::text, state from podline.runs
          where id = any(${runIds as string[]}::uuid[]) and state in ('queued', 'running')`.catch(() => null)
        if (open?.length === 0) return
        if (Date.now() > end) {
          const sample = (open ?? []).slice(0, 5).map((r) => `${r.id} ${r.state}`)
          throw new Error(
            `${open?.length ?? '?'} runs still open after ${timeoutMs} ms: ${sample.join(', ')}`,
          )
        }
        await sleep(200)
      }
    },
    async close() {
      await sql.end({ timeout: 5 })
      await database.close()
    },
  }
}
