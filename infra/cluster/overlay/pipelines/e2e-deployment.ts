import { hostname } from 'node:os'
import { type PodSpec, pipeline, type TaskContext } from '@podline/sdk'

/*
 * The pipeline the worker Deployment of this overlay loads (infra/kind/e2e/worker-deployment.test.ts
 * triggers it): four inline tasks and two pod tasks side by side, then a task that needs them all.
 * Each inline task logs one line per execution naming the worker pod that ran it, so the task log
 * counts executions; the pods are kept, so the cluster counts them.
 */

const IMAGE = 'podline.local/shell:1'

async function work(_inputs: unknown, ctx: TaskContext<Record<string, never>>): Promise<string> {
  ctx.log.info(`executed by ${hostname()}`)
  await new Promise((resolve) => setTimeout(resolve, 2000))
  return hostname()
}

function pod(n: number): PodSpec {
  return {
    image: IMAGE,
    command: ['sh', '-c', `sleep 3; printf '{"n":${n}}' > "$PODLINE_XCOM_PATH"`],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
  }
}

export default pipeline('e2e-deployment')
  .task('work-1', work)
  .task('work-2', work)
  .task('work-3', work)
  .task('work-4', work)
  .pod('pod-1', { onFinish: 'keep_pod' }, pod(1))
  .pod('pod-2', { onFinish: 'keep_pod' }, pod(2))
  .task(
    'check',
    { needs: ['work-1', 'work-2', 'work-3', 'work-4', 'pod-1', 'pod-2'] },
    async ({ 'pod-1': one, 'pod-2': two }) => {
      const n = (value: unknown) => (value as { n?: number }).n
      if (n(one) !== 1 || n(two) !== 2)
        throw new Error(`unexpected pod results ${JSON.stringify([one, two])}`)
      return 3
    },
  )
