import { openDatabase, QUEUE_CHANNEL, registerPlans } from '@podline/runner'
import type { AnyPipeline } from '@podline/sdk'
import postgres from 'postgres'

/** Task runs written per statement: runs of a wide pipeline go a few (or one) at a time. */
const TASK_RUNS_PER_STATEMENT = 10_000

/*
 * Creates N runs of a pipeline in a few statements. `triggerPipeline` writes the same rows one
 * transaction per run (about 1,000 runs/s here), which would make the 100k benchmark mostly about
 * triggering, and binds about 15 parameters per task, which a run of 10,000 tasks exceeds
 * (PostgreSQL takes at most 65,535). The rows written are the same: the run, its task runs (roots
 * queued, the rest pending), the run's and each task's events. Plans with maxActiveRuns are refused:
 * their roots wait for admission, which this does not do.
 */
export async function bulkTrigger(url: string, p: AnyPipeline, count: number): Promise<void> {
  const plan = p.plan()
  if (plan.maxActiveRuns !== undefined)
    throw new Error(`bulkTrigger does not admit runs: ${p.name} has maxActiveRuns; use triggerPipeline`)
  const needed = new Set(plan.tasks.flatMap((t) => t.needs))
  const tasks = plan.tasks.map((t) => ({
    task: t.name,
    kind: t.kind,
    needs: t.needs,
    is_leaf: !needed.has(t.name),
    trigger_rule: t.options.triggerRule,
    state: t.needs.length === 0 ? 'queued' : 'pending',
    max_attempts: t.options.retries + 1,
    retries: t.options.retries,
    retry_delay: t.options.retryDelay,
    priority: t.options.priority,
    timeout_ms: t.options.timeoutMs,
    max_parallel: t.map?.maxParallel ?? null,
    pool: t.options.pool ?? null,
    pool_slots: t.options.poolSlots ?? 1,
  }))
  const database = await openDatabase({ databaseUrl: url, poolSize: 1 })
  try {
    await registerPlans(database, [plan])
  } finally {
    await database.close()
  }
  const runsPerStatement = Math.max(1, Math.floor(TASK_RUNS_PER_STATEMENT / plan.tasks.length))
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    for (let done = 0; done < count; done += runsPerStatement) {
      const n = Math.min(runsPerStatement, count - done)
      await sql`
        with r as (
          insert into podline.runs (id, pipeline, version, params, state)
          select gen_random_uuid(), ${plan.name}, ${plan.version}, '{}'::jsonb, 'queued' from generate_series(1, ${n})
          returning id
        ), p as (
          select * from jsonb_to_recordset(${sql.json(tasks)}) as p(
            task text, kind text, needs text[], is_leaf boolean, trigger_rule text, state text,
            max_attempts int, retries int, retry_delay jsonb, priority int, timeout_ms int, max_parallel int,
            pool text, pool_slots int)
        ), t as (
          insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule,
                                         state, max_attempts, retries, retry_delay, priority, timeout_ms,
                                         max_parallel, pool, pool_slots)
          select r.id, ${plan.name}, ${plan.version}, p.task, p.kind, p.needs, p.is_leaf, p.trigger_rule,
                 p.state, p.max_attempts, p.retries, p.retry_delay, p.priority, p.timeout_ms, p.max_parallel,
                 p.pool, p.pool_slots
          from r cross join p
        ), e as (
          insert into podline.events (run_id, to_state, task, attempt, message)
          select id, 'queued', null, null, ${`run of ${plan.name}@${plan.version} created`} from r
          union all
          select r.id, p.state, p.task, 0, null from r cross join p
        )
        select 1`
      // Workers waiting on LISTEN take the new work at once, as they would after a trigger (the
      // queue's NOTIFY carries the version, so only workers serving it wake).
      await sql`select pg_notify(${QUEUE_CHANNEL}, ${plan.version})`
    }
  } finally {
    await sql.end()
  }
}
