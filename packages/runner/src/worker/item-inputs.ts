import type { ClaimedTaskRun } from '../queue/claim-task-runs.js'
import { expandItemManifests } from '../queue/mapped-tasks.js'
import { loadItemInputs } from '../queue/upstream-values.js'
import type { Database } from '../store/database.js'

type Inputs = Record<string, unknown>

/** What an attempt reads: the values as stored (references included), and as the task sees them. */
export interface AttemptInputs {
  readonly stored: Inputs
  readonly resolved: Inputs
}

/**
 * The inputs of the task runs a worker claims. A task's come with its claim. A mapped task's items
 * all share theirs (their task's upstream values, often the very list `over` split), so the claim
 * names them (`inputsKey`) and they are loaded and resolved once per key here, for the few mapped
 * tasks a worker runs at a time: the cost of an item no longer grows with the list.
 */
export class ClaimInputs {
  readonly #shared = new Map<string, { stored: Promise<Inputs>; resolved?: Promise<Inputs> }>()

  constructor(
    private readonly database: Database,
    /** Mapped tasks whose items' inputs are kept; the oldest goes first. */
    private readonly capacity = 8,
  ) {}

  /** `resolve` reads offloaded values back from the XCom store. */
  async of(c: ClaimedTaskRun, resolve: (stored: Inputs) => Promise<Inputs>): Promise<AttemptInputs> {
    if (c.inputs !== null) {
      const stored = await expandItemManifests(this.database, c.runId, c.inputs)
      return { stored, resolved: await resolve(stored) }
    }
    const key = `${c.runId}\0${c.task}\0${c.inputsKey ?? ''}`
    let entry = this.#shared.get(key)
    if (!entry) {
      entry = {
        stored: loadItemInputs(this.database, c.runId, c.task).then((inputs) =>
          expandItemManifests(this.database, c.runId, inputs),
        ),
      }
      this.#shared.set(key, entry)
      if (this.#shared.size > this.capacity) this.#shared.delete(this.#shared.keys().next().value as string)
    }
    const shared = entry
    shared.resolved ??= shared.stored.then(resolve)
    try {
      // Both awaited at once: when the read fails, `resolved` (chained on it) rejects too, and a
      // rejection nobody awaits would end the worker as an unhandled one.
      const [stored, resolved] = await Promise.all([shared.stored, shared.resolved])
      return { stored, resolved }
    } catch (error) {
      // A failed read is not kept: the next item reads again.
      if (this.#shared.get(key) === shared) this.#shared.delete(key)
      throw error
    }
  }
}
