import { openDatabase, QUEUE_CHANNEL, registerPlans } from '@podline/runner'
import type { AnyPipeline } from '@podline/sdk'
import postgres from 'postgres'

/*
 * Creates N runs of a one-task pipeline in one statement. `triggerPipeline` does the same rows one
 * transaction per run (about 1,000 runs/s here), which would make the 100k benchmark mostly about
 * triggering; the rows written are the same: the run, its queued task run, the run's and the task's events.
 */
export async function bulkTrigger(url: string, p: AnyPipeline, count: number): Promise<void> {
  const plan = p.plan()
  const [task] = plan.tasks
  if (!task || plan.tasks.length !== 1)
    throw new Error(`bulkTrigger takes a one-task pipeline, not ${p.name}`)
  const database = await openDatabase({ databaseUrl: url, poolSize: 1 })
  try {
    await registerPlans(database, [plan])
  } finally {
    await database.close()
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    for (let done = 0; done < count; done += 10_000) {
      const n = Math.min(10_000, count - done)
      await sql`
        with r as (
          insert into podline.runs (id, pipeline, version, params, state)
          select gen_random_uuid(), ${plan.name}, ${plan.version}, '{}'::jsonb, 'queued' from generate_series(1, ${n})
          returning id
        ), t as (
          insert into podline.task_runs (run_id, pipeline, version, task, kind, needs, is_leaf, trigger_rule,
                                         state, max_attempts, retries, retry_delay, priority, timeout_ms)
          select id, ${plan.name}, ${plan.version}, ${task.name}, ${task.kind}, '{}', true,
                 ${task.options.triggerRule}, 'queued', ${task.options.retries + 1}, ${task.options.retries},
                 ${JSON.stringify(task.options.retryDelay)}::jsonb, ${task.options.priority},
                 ${task.options.timeoutMs} from r
        ), e as (
          insert into podline.events (run_id, to_state, task, attempt, message)
          select id, 'queued', null, null, ${`run of ${plan.name}@${plan.version} created`} from r
          union all
          select id, 'queued', ${task.name}, 0, null from r
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
