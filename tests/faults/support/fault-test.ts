import { freshDatabase, type ScratchDatabase } from '@podline/runner/testing'
import { type Client, connect, sideEffectFolder } from './harness.js'
import type { WorkerProcess } from './worker-process.js'

/** What a fault test runs against. */
export interface FaultTest {
  /** A fresh database of the test's own. */
  readonly db: ScratchDatabase
  /** The side-effect file the fixture tasks append to. */
  readonly side: ReturnType<typeof sideEffectFolder>
  readonly client: Client
  /** The test's workers: whatever it puts here is stopped when it ends. */
  readonly workers: WorkerProcess[]
  /** Releases a resource the test acquired when it ends, once its workers have stopped. */
  defer(release: () => unknown): void
}

/**
 * Runs `body` on a fresh database (named from `prefix`), a side-effect folder and the test's
 * client, and releases them however it ends, in reverse order of acquisition: the workers stopped
 * first, then what the test deferred (the latest first), the client, the folder, the database.
 */
export async function withFaultTest(prefix: string, body: (t: FaultTest) => Promise<void>): Promise<void> {
  const db = await freshDatabase(prefix)
  const side = sideEffectFolder()
  const client = await connect(db.url)
  const workers: WorkerProcess[] = []
  const deferred: (() => unknown)[] = []
  try {
    await body({ db, side, client, workers, defer: (release) => deferred.push(release) })
  } finally {
    await Promise.all(workers.map((w) => w.stop()))
    for (const release of deferred.reverse()) await release()
    await client.close()
    side.remove()
    await db.drop()
  }
}
