// KubernetesPodOperator's XCom example, ported: `write-xcom` writes `{"key1": …, "key2": …}` to
// /airflow/xcom/return.json, `read-key1` reads key1 as a PythonOperator did with xcom_pull, and
// `echo-key1` receives key1 in its arguments as the Jinja template did. The DAG it comes from is in
// docs/from-airflow.md.
//
//   npx podline run examples/from-airflow/kpo-xcom.ts --runtime process   local processes, no cluster
//   npx podline run examples/from-airflow/kpo-xcom.ts                     pods on the current kubeconfig's cluster
import { runLocal } from '@podline/runner'
import { isMain, pipeline } from '@podline/sdk'
import { z } from 'zod'

export const kpoXcom = pipeline('kpo-xcom')
  // The image is unchanged: it writes /airflow/xcom/return.json as it did under do_xcom_push=True.
  .pod(
    'write-xcom',
    { output: z.object({ key1: z.string(), key2: z.number() }) },
    {
      image: 'alpine:3.20',
      command: [
        'sh',
        '-c',
        'mkdir -p /airflow/xcom/; echo \'{"key1": "value1", "key2": 2}\' > /airflow/xcom/return.json',
      ],
    },
  )
  // xcom_pull(task_ids="write_xcom")["key1"]: the output arrives in `needs`, typed by the schema above.
  .task('read-key1', { needs: ['write-xcom'] }, ({ 'write-xcom': xcom }) => xcom.key1.toUpperCase())
  // The Jinja template in `arguments` becomes a function of the typed inputs, called when the task runs.
  .pod(
    'echo-key1',
    { needs: ['write-xcom'], output: z.object({ received: z.string() }) },
    ({ 'write-xcom': xcom }) => ({
      image: 'alpine:3.20',
      command: [
        'sh',
        '-c',
        'echo "key1 is $1"; printf \'{"received": "%s"}\' "$1" > /airflow/xcom/return.json',
        'echo-key1',
      ],
      args: [xcom.key1],
    }),
  )

export default kpoXcom

if (isMain(import.meta)) console.log(await runLocal(kpoXcom, undefined, { runtime: 'process' }))
