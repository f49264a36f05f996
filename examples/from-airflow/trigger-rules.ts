import { runLocal } from '@podline/runner'
import { isMain, pipeline } from '@podline/sdk'
import { z } from 'zod'

/**
 * A DAG that mixes pod and Python tasks with trigger rules, retries and a skip exit code, ported
 * from this DAG:
 *
 *   with DAG("nightly-orders", params={"day": "2026-11-21", "fail_load": False}):
 *       start = EmptyOperator(task_id="start")
 *       extract = KubernetesPodOperator(task_id="extract", image="alpine:3.20", do_xcom_push=True,
 *           cmds=["sh", "-c", "printf '{\"uri\": \"s3://raw/%s.csv\", \"rows\": 3}' \"$1\" > /airflow/xcom/return.json", "extract"],
 *           arguments=["{{ params.day }}"])
 *       check_freshness = KubernetesPodOperator(task_id="check_freshness", image="alpine:3.20",
 *           cmds=["sh", "-c", "echo 'no new orders since the last run'; exit 99"], skip_on_exit_code=99)
 *       transform = PythonOperator(task_id="transform", python_callable=to_table)   # reads extract's XCom
 *       load = KubernetesPodOperator(task_id="load", image="alpine:3.20", do_xcom_push=True,
 *           arguments=["{{ ti.xcom_pull('transform')['table'] }}", "{{ ti.xcom_pull('transform')['rows'] }}"],
 *           env_vars={"FAIL": "{{ params.fail_load }}"},
 *           retries=1, retry_delay=timedelta(seconds=1), retry_exponential_backoff=True,
 *           max_retry_delay=timedelta(minutes=1), execution_timeout=timedelta(minutes=10))
 *       report = PythonOperator(task_id="report", trigger_rule="none_failed")      # a skipped check is fine
 *       alert = PythonOperator(task_id="alert", trigger_rule="one_failed")         # only when load failed
 *       cleanup = KubernetesPodOperator(task_id="cleanup", trigger_rule="all_done")  # whatever happened
 *       start >> extract >> [check_freshness, transform]
 *       transform >> load >> [alert, cleanup]
 *       [load, check_freshness] >> report
 *
 * `start` has no counterpart: a task without `needs` starts the run.
 *
 *   npx podline run examples/from-airflow/trigger-rules.ts --runtime process
 *   npx podline run examples/from-airflow/trigger-rules.ts --runtime process --params '{"failLoad": true}'
 */
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
    summary: `${load.loaded} rows into ${load.table}`,
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
