import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Store } from '@podline/runner'
import type { StoreSettings } from '@podline/runner/config'
import { UsageError } from './usage-error.js'

/**
 * Opens the store an operator verb reads or changes, never migrating it and never creating one: a
 * verb pointed at the wrong place says so instead of answering from an empty store it just made.
 * A verb's statements run one after another, so its pool holds one connection (plus one for
 * LISTEN when it follows a run): forty `trigger --wait` beside the workers fit in a server's 100.
 */
export async function openOperatorStore(settings: StoreSettings): Promise<Store> {
  if (!settings.databaseUrl) {
    const dir = resolve(settings.dataDir ?? '.podline')
    if (!existsSync(resolve(dir, 'pgdata'))) {
      throw new UsageError(
        `there is no embedded store in ${dir}: nothing has run here yet. Set DATABASE_URL to reach a shared PostgreSQL, or PODLINE_DATA_DIR to the folder \`podline run\` used.`,
      )
    }
  }
  const { openStore, failKilledLocalRun } = await import('@podline/runner')
  const store = await openStore({ ...settings, poolSize: 1, migrate: false }).catch((error: unknown) => {
    throw error instanceof Error && error.name === 'EmbeddedStoreBusyError'
      ? new UsageError(`${error.message}. ${FOLLOW_A_LOCAL_RUN}`, { cause: error })
      : error
  })
  try {
    const state = await store.database.schemaState()
    if (state === 'missing') {
      throw new UsageError(
        `the database at ${store.database.location} has no Podline schema. Create it with \`podline migrate\`.`,
      )
    }
    const killed = await failKilledLocalRun(store.database)
    if (killed) process.stderr.write(killedRunNotice(killed))
  } catch (error) {
    await store.close()
    throw error
  }
  return store
}

/**
 * The embedded store admits one process, so `logs -f` and `status --watch` cannot read it while
 * `podline run` holds it: how to watch such a run instead.
 */
const FOLLOW_A_LOCAL_RUN =
  'To follow a run while `podline run` holds the store, start it with `podline run --ui` and watch it in the UI (its tasks, states and logs, live), ' +
  'or keep the store in PostgreSQL (DATABASE_URL) for both: then `podline logs -f` and `podline status --watch` read it beside the run'

/** What a verb says when opening the embedded store ended a run whose `podline run` was killed. */
export function killedRunNotice(runId: string): string {
  return `podline: run ${runId} was left running by a podline run that was killed; it is now marked failed (podline retry ${runId} runs its tasks again)\n`
}

/** Runs `fn` with an operator store and closes it however `fn` ends. */
export async function withOperatorStore<T>(
  settings: StoreSettings | Promise<StoreSettings>,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openOperatorStore(await settings)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}
