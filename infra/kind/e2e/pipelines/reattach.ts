import { pipeline } from '@podline/sdk'
import { z } from 'zod'
import { SHELL_IMAGE } from './image.js'
import { mark } from './mark.js'

/** How long the pod runs: past the first worker's death and the second one's takeover. */
// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by the e2e suite for its workers only, no build reads it.
const SECONDS = process.env.PODLINE_E2E_REATTACH_SECONDS || '25'

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
      command: ['sh', '-c', `sleep ${SECONDS}; printf '{"key1":"reattached"}' > "$PODLINE_XCOM_PATH"`],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
    },
  )
  .task('read', { needs: ['slow'] }, async ({ slow }, ctx) => {
    mark(ctx.task, ctx.attempt, slow.key1)
    return slow.key1
  })
