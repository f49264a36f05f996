import { pipeline, type TaskContext } from '@podline/sdk'
import { SHELL_IMAGE } from './image.js'
import { mark } from './mark.js'

/** Slow enough that one worker cannot take every task before the others claim some. */
async function slow(_inputs: unknown, ctx: TaskContext<Record<string, never>>): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 3000))
  mark(ctx.task, ctx.attempt, String(process.pid))
  return process.pid
}

function echoPod(n: number) {
  return {
    image: SHELL_IMAGE,
    command: ['sh', '-c', `printf '{"n":${n}}' > "$PODLINE_XCOM_PATH"`],
    resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } },
  }
}

/** Six inline tasks and two pods in parallel, then one task that needs them all. */
export default pipeline('e2e-shared-queue')
  .task('work-1', slow)
  .task('work-2', slow)
  .task('work-3', slow)
  .task('work-4', slow)
  .task('work-5', slow)
  .task('work-6', slow)
  .pod('pod-1', {}, echoPod(1))
  .pod('pod-2', {}, echoPod(2))
  .task(
    'join',
    { needs: ['work-1', 'work-2', 'work-3', 'work-4', 'work-5', 'work-6', 'pod-1', 'pod-2'] },
    async (inputs, ctx) => {
      mark(ctx.task, ctx.attempt, JSON.stringify(inputs))
      return Object.keys(inputs).length
    },
  )
