import { runLocal } from '@podline/runner'
import { isMain, pipeline } from '@podline/sdk'
import { z } from 'zod'

/**
 * The XCom sidecar contract, as KubernetesPodOperator users know it: the `produce` container writes
 * `{"key1": …, "key2": …}` to /airflow/xcom/return.json; an inline task reads key1 with its type, and
 * a second pod gets key1 in its args and its environment.
 *
 *   npx podline run examples/pod-xcom.ts --runtime process   local processes, same contract
 *   npx podline run examples/pod-xcom.ts                     pods on the current kubeconfig's cluster
 */
export const podXcom = pipeline('pod-xcom')
  .pod(
    'produce',
    { output: z.object({ key1: z.string(), key2: z.number() }) },
    {
      image: 'alpine:3.20',
      command: [
        'sh',
        '-c',
        'mkdir -p /airflow/xcom && echo \'{"key1": "hello", "key2": 42}\' > /airflow/xcom/return.json',
      ],
    },
  )
  // produce.key1 is a string and produce.key2 a number, from the output schema.
  .task('shout', { needs: ['produce'] }, ({ produce }) => ({
    loud: produce.key1.toUpperCase(),
    twice: produce.key2 * 2,
  }))
  .pod(
    'consume',
    { needs: ['produce'], output: z.object({ arg: z.string(), env: z.string() }) },
    ({ produce }) => ({
      image: 'alpine:3.20',
      command: [
        'sh',
        '-c',
        'printf \'{"arg": "%s", "env": "%s"}\' "$1" "$KEY1" > "$PODLINE_XCOM_PATH"',
        'consume',
      ],
      args: [produce.key1],
      env: { KEY1: produce.key1 },
    }),
  )

export default podXcom

if (isMain(import.meta)) console.log(await runLocal(podXcom, undefined, { runtime: 'process' }))
