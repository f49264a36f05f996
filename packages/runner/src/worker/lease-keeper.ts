import { pathToFileURL } from 'node:url'
import { Worker as Thread } from 'node:worker_threads'
import { PgDialect } from 'drizzle-orm/pg-core'
import { FROM_SOURCES, packageFile } from '../package-files.js'
import { LeaseLostError } from '../queue/attempt-fence.js'
import type { TaskRunId } from '../queue/claim-task-runs.js'
import { heartbeat, heartbeatStatement } from '../queue/heartbeat.js'
import type { WorkerRecord } from '../queue/workers.js'
import type { Database } from '../store/database.js'
import { databaseErrorMessage } from '../store/database-error.js'
import type { WorkerLog } from '../worker-log.js'
import type { FromLeaseThread, LeaseThreadData, ToLeaseThread } from './lease-thread.js'

/**
 * Renews the leases of the task runs a worker holds, and tells the worker which it lost (taken away,
 * or the database gone for about as long as the lease).
 *
 * Where the renewal runs is the point. An inline task that does synchronous CPU work blocks the event
 * loop: no timer of the worker fires, so a heartbeat on the main thread stops and every other task
 * the worker holds loses its lease. On PostgreSQL the heartbeat therefore runs on a worker thread with
 * a connection of its own, renewing the ids the main thread posts to it; a blocked main thread no
 * longer starves it. The embedded store (PGlite) lives inside this process and no other process can
 * open it, so nobody can take a lease over while the main thread is blocked except this process's own
 * reconciler, which renews before it sweeps (see `renewNow`); there the heartbeat stays inline.
 */
export interface LeaseKeeper {
  /**
   * Renews `id`'s lease from now on. `leasedAt` is when its lease began on this side: the time the
   * claim that took it was sent (the server set the expiry some time after that). Holding an id held
   * already changes nothing.
   */
  hold(id: TaskRunId, leasedAt?: number): void
  drop(id: TaskRunId): void
  /**
   * How long `id`'s lease surely lasts, less the safety margin: counted from the last renewal that
   * covered it, or from its claim when none has yet. A claim that came back slowly, or a renewal that
   * has not reached it, can leave a claimed-ahead task run with no time left: it must not start.
   * Infinity where no other process can take a lease over (the embedded store).
   */
  leaseLeftMs(id: TaskRunId): number
  /**
   * Renews at once when the renewal shares the main thread (the reconciler calls it first, so after a
   * blocked loop it never requeues this worker's own tasks); the thread renews on its own.
   */
  renewNow(): Promise<void>
  /** Where the heartbeat runs: what a health page or a test can tell. */
  readonly mode: 'thread' | 'inline'
  stop(): Promise<void>
}

export interface LeaseKeeperOptions {
  database: Database
  /** This worker's row: each renewal also marks it alive in the workers table. */
  worker: WorkerRecord
  heartbeatMs: number
  /** Run the heartbeat on a worker thread when the store allows it. Default true. */
  thread?: boolean
  log: WorkerLog
  /** Called for each held id whose lease this worker no longer has. */
  onLost(id: TaskRunId, reason: LeaseLostError): void
}

export async function startLeaseKeeper(options: LeaseKeeperOptions): Promise<LeaseKeeper> {
  const url = options.database.connectionUrl?.()
  if (options.thread !== false && url) return startThreadKeeper(options, url)
  return startInlineKeeper(options)
}

/**
 * The ids held, each with the version of the set it joined at (so a late "lost" for a reused id is
 * ignored, and a renewal is known to have covered it) and the time its lease began on this side.
 */
class HeldIds {
  #version = 0
  readonly #held = new Map<TaskRunId, { since: number; leasedAt: number }>()
  add(id: TaskRunId, leasedAt: number): boolean {
    if (this.#held.has(id)) return false
    this.#held.set(id, { since: ++this.#version, leasedAt })
    return true
  }
  delete(id: TaskRunId): number {
    this.#held.delete(id)
    return ++this.#version
  }
  get version(): number {
    return this.#version
  }
  ids(): TaskRunId[] {
    return [...this.#held.keys()]
  }
  /** Whether `id` was held already when the set was at `version` (a renewal that missed it speaks of this hold). */
  heldAt(id: TaskRunId, version: number): boolean {
    const since = this.#held.get(id)?.since
    return since !== undefined && since <= version
  }
  /** When `id`'s lease began by what this side knows: its claim, or the last renewal that covered it. */
  leasedAt(id: TaskRunId, renewal: Renewal): number | undefined {
    const entry = this.#held.get(id)
    if (!entry) return undefined
    return entry.since <= renewal.version ? Math.max(entry.leasedAt, renewal.sentAt) : entry.leasedAt
  }
}

/** The last renewal that got through: when it was sent, and the version of the held set it renewed. */
interface Renewal {
  sentAt: number
  version: number
}

/** Kept short of the lease: work stops this long before its lease would expire. */
function marginOf(leaseMs: number): number {
  return Math.min(1000, leaseMs / 5)
}

/**
 * Stops the held work a margin before its lease would expire, each id counted from the last renewal
 * that covered it (or its claim): a timer, because in a real partition the heartbeat hangs rather
 * than fails, and stopping before the takeover keeps the two attempts from overlapping. When it fires
 * it reads the last renewal afresh (a thread may have renewed while this timer waited behind a
 * blocked loop) and re-arms for the next id due.
 */
function leaseGuard(
  options: LeaseKeeperOptions,
  lastRenewal: () => Renewal,
  held: HeldIds,
): { stop(): void; leaseLeftMs(id: TaskRunId): number; held(leasedAt: number): void } {
  const { leaseMs } = options.worker
  const margin = marginOf(leaseMs)
  let timer: NodeJS.Timeout | undefined
  let dueAt = Number.POSITIVE_INFINITY
  const schedule = (at: number) => {
    clearTimeout(timer)
    dueAt = at
    timer = setTimeout(arm, Math.max(0, at - Date.now()))
    timer.unref()
  }
  const arm = () => {
    const renewal = lastRenewal()
    const now = Date.now()
    let next = now + leaseMs - margin
    const lost: TaskRunId[] = []
    for (const id of held.ids()) {
      const due = (held.leasedAt(id, renewal) ?? now) + leaseMs - margin
      if (due <= now) lost.push(id)
      else next = Math.min(next, due)
    }
    if (lost.length > 0) {
      const reason = new LeaseLostError('lost the database for about as long as the lease')
      for (const id of lost) options.onLost(id, reason)
      next = Math.min(next, now + margin)
    }
    schedule(next)
  }
  arm()
  return {
    stop: () => clearTimeout(timer),
    leaseLeftMs(id) {
      const leasedAt = held.leasedAt(id, lastRenewal())
      return leasedAt === undefined ? 0 : leasedAt + leaseMs - margin - Date.now()
    },
    // A claim that came back late may be due before the timer: bring the timer forward.
    held(leasedAt) {
      const due = leasedAt + leaseMs - margin
      if (due < dueAt) schedule(due)
    },
  }
}

async function startInlineKeeper(options: LeaseKeeperOptions): Promise<LeaseKeeper> {
  const held = new HeldIds()
  let lastRenewal: Renewal = { sentAt: Date.now(), version: 0 }
  const renew = async () => {
    const version = held.version
    const ids = held.ids()
    // The server sets the new expiry at some point after this; counting from the send is the safe side.
    const sentAt = Date.now()
    try {
      const still = await heartbeat(options.database, options.worker, ids)
      lastRenewal = { sentAt, version }
      for (const id of ids) {
        if (!still.has(id) && held.heldAt(id, version))
          options.onLost(id, new LeaseLostError('the lease of this attempt was taken away'))
      }
    } catch (error) {
      options.log('warn', `heartbeat failed: ${databaseErrorMessage(error)}`)
    }
  }
  const timer = setInterval(() => void renew(), options.heartbeatMs)
  // In-process store: no one else can take a lease while this loop is blocked, so no guard.
  const guard =
    options.database.driver === 'pglite' ? undefined : leaseGuard(options, () => lastRenewal, held)
  return {
    mode: 'inline',
    hold(id, leasedAt = Date.now()) {
      if (held.add(id, leasedAt)) guard?.held(leasedAt)
    },
    drop: (id) => void held.delete(id),
    leaseLeftMs: (id) => guard?.leaseLeftMs(id) ?? Number.POSITIVE_INFINITY,
    renewNow: renew,
    async stop() {
      clearInterval(timer)
      guard?.stop()
    },
  }
}

/**
 * The thread's program is lease-thread.ts: the source when the runner runs from its sources (tsx,
 * vitest), the build's own entry for it otherwise.
 */
const LEASE_THREAD = pathToFileURL(
  packageFile(FROM_SOURCES ? 'src/worker/lease-thread.ts' : 'dist/worker/lease-thread.js'),
)

async function startThreadKeeper(options: LeaseKeeperOptions, url: string): Promise<LeaseKeeper> {
  const held = new HeldIds()
  // A sentinel in place of the ids marks which parameter the thread substitutes.
  const sentinel = ['-424242']
  const query = new PgDialect().sqlToQuery(heartbeatStatement(options.worker, sentinel))
  const idsIndex = query.params.indexOf(JSON.stringify(sentinel))
  if (idsIndex < 0) throw new Error('the heartbeat statement has no ids parameter')
  const shared = new SharedArrayBuffer(16)
  const lastRenewal = new BigInt64Array(shared)
  Atomics.store(lastRenewal, 0, BigInt(Date.now()))
  const workerData: LeaseThreadData = {
    url,
    text: query.sql,
    params: query.params,
    idsIndex,
    heartbeatMs: options.heartbeatMs,
    shared,
  }
  const thread = new Thread(LEASE_THREAD, {
    workerData,
    // Its heap is small and separate: the task's heap exhausting does not reach it first.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  })
  thread.unref()
  let exited = false
  let loaded = false
  thread.on('message', (m: FromLeaseThread) => {
    if (m.type === 'loaded') {
      loaded = true
    } else if (m.type === 'lost') {
      const reason = new LeaseLostError('the lease of this attempt was taken away')
      for (const id of m.ids) if (held.heldAt(id, m.version)) options.onLost(id, reason)
    } else if (m.type === 'error') {
      options.log('warn', `heartbeat failed: ${m.message}`)
    }
  })
  const exit = new Promise<void>((resolve) =>
    thread.once('exit', () => {
      exited = true
      resolve()
    }),
  )
  thread.on('error', (error) => options.log('error', `the lease thread failed: ${error.message}`))
  // The held set goes to the thread once for many changes, not once per attempt (a claim of 16 or a
  // batch of completions would post the whole set 16 times). A hold is posted in a microtask: before
  // any task code runs, since a task may block the loop at once and the thread must renew its lease
  // meanwhile. A drop can wait for the next turn of the loop: renewing a finished task costs nothing.
  let posted: 'no' | 'soon' | 'later' = 'no'
  const tell = (message: ToLeaseThread) => {
    if (!exited) thread.postMessage(message)
  }
  const send = () => {
    posted = 'no'
    tell({ type: 'ids', ids: held.ids(), version: held.version })
  }
  const post = (urgent: boolean) => {
    if (posted === 'soon' || (posted === 'later' && !urgent)) return
    if (urgent) queueMicrotask(() => posted === 'soon' && send())
    else setImmediate(() => posted === 'later' && send())
    posted = urgent ? 'soon' : 'later'
  }
  const guard = leaseGuard(
    options,
    () => ({ sentAt: Number(Atomics.load(lastRenewal, 0)), version: Number(Atomics.load(lastRenewal, 1)) }),
    held,
  )
  return {
    mode: 'thread',
    hold(id, leasedAt = Date.now()) {
      if (!held.add(id, leasedAt)) return
      guard.held(leasedAt)
      post(true)
    },
    drop(id) {
      held.delete(id)
      post(false)
    },
    leaseLeftMs: (id) => guard.leaseLeftMs(id),
    renewNow: () => Promise.resolve(),
    async stop() {
      guard.stop()
      // A thread still loading its modules has no connection to close and would finish loading
      // before it read the message (on a busy machine, most of a short local run's time): it is
      // ended at once. A loaded one closes its connection itself.
      if (!loaded) {
        await thread.terminate()
        return
      }
      tell({ type: 'stop' })
      await Promise.race([exit, new Promise((r) => setTimeout(r, 3000).unref())])
      if (!exited) await thread.terminate()
    },
  }
}
