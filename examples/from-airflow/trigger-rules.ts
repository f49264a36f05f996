// A DAG that mixes pod and Python tasks with trigger rules, a retry with exponential backoff and a
// skip exit code, ported. The DAG it comes from is in docs/from-airflow.md. Its `start`
// EmptyOperator has no counterpart: a task without `needs` starts the run.
//
//   npx podline run examples/from-airflow/trigger-rules.ts --runtime process
//   npx podline run examples/from-airflow/trigger-rules.ts --runtime process --params '{"failLoad": true}'
import { runLocal } from '@podline/runner'
import { isMain, pipeline } from '@podline/sdk'
import { z } from 'zod'

const params = z.object({
  day: z.string().default('2026-11-21'),
  failLoad: z.boolean().default(false),
})

export const nightlyOrders = pipeline('nightly-orders', { params })
  // {{ params.day }} is ctx.params.day, typed by the params schema.
  .pod('extract', { output: z.object({ uri: z.string(), rows: z.number() }) }, (_inputs, { params }) => ({
    image: 'alpine:3.20',
    command: [
      'sh',
      '-c',
      'printf \'{"uri": "s3://raw/%s.csv", "rows": 3}\' "$1" > /airflow/xcom/return.json',
      'extract',
    ],
    args: [params.day],
  }))
  // skip_on_exit_code=99: exit 99 marks the task skipped, not failed.
  .pod(
    'check-freshness',
    { needs: ['extract'], skipOnExitCode: 99 },
    { image: 'alpine:3.20', command: ['sh', '-c', "echo 'no new orders since the last run'; exit 99"] },
  )
  .task('transform', { needs: ['extract'] }, ({ extract }, { params }) => ({
    table: `orders_${params.day.replaceAll('-', '')}`,
    rows: extract.rows,
  }))
  // retries=1 with retry_exponential_backoff and max_retry_delay; execution_timeout is `timeout`.
  .pod(
    'load',
    {
      needs: ['transform'],
      output: z.object({ table: z.string(), loaded: z.number() }),
      retries: 1,
      retryDelay: { initial: '1s', factor: 2, max: '1m' },
      timeout: '10m',
    },
    ({ transform }, { params }) => ({
      image: 'alpine:3.20',
      command: [
        'sh',
        '-c',
        'if [ "$FAIL" = true ]; then echo "cannot reach the warehouse" >&2; exit 3; fi; ' +
          'printf \'{"table": "%s", "loaded": %s}\' "$1" "$2" > /airflow/xcom/return.json',
        'load',
      ],
      args: [transform.table, String(transform.rows)],
      env: { FAIL: String(params.failLoad) },
    }),
  )
  // none_failed: runs when nothing upstream failed; the skipped check does not stop it. Read only the
  // outputs of upstreams that succeeded: a skipped task hands no value.
  .task('report', { needs: ['load', 'check-freshness'], triggerRule: 'none_failed' }, ({ load }) => ({
    summary: load ? `${load.loaded} rows into ${load.table}` : 'nothing was loaded',
  }))
  // one_failed: runs as soon as load has failed (after its retries); skipped otherwise.
  .task('alert', { needs: ['load'], triggerRule: 'one_failed' }, (_inputs, { params }) => ({
    message: `the load of ${params.day} failed`,
  }))
  // all_done: runs however load ended.
  .pod(
    'cleanup',
    { needs: ['load'], triggerRule: 'all_done' },
    { image: 'alpine:3.20', command: ['sh', '-c', 'echo "dropping the staging tables"'] },
  )

export default nightlyOrders

if (isMain(import.meta)) console.log(await runLocal(nightlyOrders, {}, { runtime: 'process' }))
