import { latestPlan, openStore, triggerPlan } from '@podline/runner'

/** Queues `count` runs of a registered pipeline directly, as many triggers would. */
export async function createRun(databaseUrl: string, pipeline: string, count: number): Promise<string[]> {
  const store = await openStore({ databaseUrl, migrate: false })
  try {
    const plan = await latestPlan(store.database, pipeline)
    if (!plan) throw new Error(`no plan ${pipeline}`)
    const ids: string[] = []
    for (let i = 0; i < count; i++) ids.push(await triggerPlan(store.database, plan, {}))
    return ids
  } finally {
    await store.close()
  }
}
