import { type MessagePort, parentPort, workerData } from 'node:worker_threads'
import postgres from 'postgres'
import type { TaskRunId } from '../queue/claim-task-runs.js'

/*
 * The lease thread's program: the heartbeat of lease-keeper.ts on a worker thread, with a connection
 * of its own, so that a task blocking the main thread's event loop cannot cost the other tasks their
 * leases.
 *
 * lease-keeper.ts starts it from this file's path, beside its own: the TypeScript source when the
 * runner runs from its sources (tsx, vitest; Node strips the types, since a worker thread is not
 * loaded through their transforms), the compiled .js from dist. So it imports nothing of the runner
 * at run time (type imports are erased), only Node and postgres.js.
 *
 * It knows no SQL of its own: it runs the heartbeat statement that heartbeat.ts defines, compiled
 * by drizzle on the main thread, substituting the ids. The time of the last renewal that got
 * through, and the version of the held set it renewed, are written to shared memory, which the main
 * thread reads however busy its event loop was.
 */

/** What the main thread gives the lease thread at its start. */
export interface LeaseThreadData {
  url: string
  /** The heartbeat statement and its parameters, as drizzle compiled them. */
  text: string
  params: unknown[]
  /** The parameter that carries the held ids (a JSON array), substituted at each renewal. */
  idsIndex: number
  heartbeatMs: number
  /** Two BigInt64 slots: [0] the last renewal's send time (ms), [1] the version of the held set it renewed. */
  shared: SharedArrayBuffer
}

/** From the main thread: the held set (posted whole at each change), or the end. */
export type ToLeaseThread = { type: 'ids'; ids: TaskRunId[]; version: number } | { type: 'stop' }

/**
 * To the main thread: that the thread has loaded and renews from now on, held ids a renewal no
 * longer found ours, or a renewal that failed.
 */
export type FromLeaseThread =
  | { type: 'loaded' }
  | { type: 'lost'; ids: TaskRunId[]; version: number }
  | { type: 'error'; message: string }

class RenewalOverdue extends Error {}

function runLeaseThread(port: MessagePort, data: LeaseThreadData): void {
  const { url, text, params, idsIndex, heartbeatMs, shared } = data
  const lastRenewal = new BigInt64Array(shared)
  const connect = () => {
    const client = postgres(url, { max: 1, onnotice() {}, connect_timeout: 10, prepare: true })
    // As drizzle sets up its client: json parameters arrive already serialised.
    client.options.serializers['114'] = client.options.serializers['3802'] = (x: unknown) => x
    return client
  }
  let sql = connect()
  /**
   * A renewal's deadline: two heartbeats, a third of the lease short of it. A connection whose peer
   * vanished (a network cut, a bridge that changed its address) answers nothing until TCP gives up,
   * minutes later; past the deadline the connection is dropped and the next renewal, at once, opens
   * another, so leases are renewed as soon as the database can be reached again.
   */
  const deadlineMs = 2 * heartbeatMs
  const post = (message: FromLeaseThread) => port.postMessage(message)
  let ids: TaskRunId[] = []
  let version = 0
  let timer: NodeJS.Timeout | undefined
  let stopped = false
  let beating = Promise.resolve()

  /** Whether the renewal ran past its deadline: the next one goes at once, on a new connection. */
  async function beat(): Promise<boolean> {
    const asked = ids
    const askedVersion = version
    const sentAt = Date.now()
    const values = params.slice()
    values[idsIndex] = JSON.stringify(asked)
    let overdue: NodeJS.Timeout | undefined
    const query = sql.unsafe(text, values as never[], { prepare: true })
    try {
      const rows = await Promise.race([
        query,
        new Promise<never>((_, reject) => {
          overdue = setTimeout(() => reject(new RenewalOverdue()), deadlineMs)
        }),
      ])
      // The version first: a reader between the two stores pairs it with the older time, the safe side.
      Atomics.store(lastRenewal, 1, BigInt(askedVersion))
      Atomics.store(lastRenewal, 0, BigInt(sentAt))
      const still = new Set(rows.map((r) => String(r.id)))
      const lost = asked.filter((id) => !still.has(id))
      if (lost.length) post({ type: 'lost', ids: lost, version: askedVersion })
    } catch (error) {
      if (error instanceof RenewalOverdue) {
        query.catch(() => {})
        const stale = sql
        sql = connect()
        void stale.end({ timeout: 0 }).catch(() => {})
        post({ type: 'error', message: `a lease renewal got no answer in ${deadlineMs} ms: reconnecting` })
        return true
      }
      post({ type: 'error', message: String((error instanceof Error && error.message) || error) })
    } finally {
      clearTimeout(overdue)
    }
    return false
  }

  function loop(): void {
    if (stopped) return
    beating = beat().then((again) => {
      if (!stopped) timer = setTimeout(loop, again ? 0 : heartbeatMs)
    })
  }

  port.on('message', async (m: ToLeaseThread) => {
    if (m.type === 'ids') {
      ids = m.ids
      version = m.version
    } else if (m.type === 'stop') {
      stopped = true
      clearTimeout(timer)
      await beating.catch(() => {})
      await sql.end({ timeout: 2 }).catch(() => {})
      port.close()
    }
  })
  post({ type: 'loaded' })
  loop()
}

// Only as a worker thread's program; lease-keeper.ts imports its types alone.
if (parentPort) runLeaseThread(parentPort, workerData as LeaseThreadData)
