import { pipeline } from '@podline/sdk'
import { z } from 'zod'
import { SHELL_IMAGE } from './image.js'
import { mark } from './mark.js'

/**
 * A pod that outlives the worker that launched it: the test kills that worker while the pod sleeps,
 * and a second worker must find the same pod (deterministic name → 409 → attach) and collect it.
 */
export default pipeline('e2e-reattach')
  .pod(
    'slow',
    { output: z.object({ key1: z.string() }), onFinish: 'keep_pod' },
    {
      image: SHELL_IMAGE,
      command: ['sh', '-c', `sleep 25; printf '{"key1":"reattached"}' > "$PODLINE_XCOM_PATH"`],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    },
  )
  .task('read', { needs: ['slow'] }, async ({ slow }, ctx) => {
    mark(ctx.task, ctx.attempt, slow.key1)
    return slow.key1
  })
