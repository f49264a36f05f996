import type { Command } from 'commander'
import { checkParamsOrExplain } from '../check-params.js'
import { parseParams } from '../parse-params.js'
import { executionSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

interface PlanFlags {
  params?: string
  task?: string
  pipeline?: string
}

/** The shape `podline plan` expects of the runner's renderPods; checked at run time (see below). */
type RenderPods = (
  pipeline: unknown,
  params: unknown,
  options: { task?: string; namespace?: string; sidecarImage?: string; sidecarMode?: string },
) => unknown

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('print, as YAML, the pods a pipeline file would create, without running anything')
    .argument('<file>', 'a pipeline file')
    .option('--params <json>', 'the run parameters as a JSON object')
    .option('--task <name>', 'only this pod task')
    .option('--pipeline <name>', 'which pipeline, when the file exports several')
    .addHelpText('after', '\nA pod spec that needs upstream outputs is rendered with placeholders for them.')
    .action(async (file: string, flags: PlanFlags) => {
      const params = parseParams(flags.params)
      const { choosePipeline, loadPipelineFile } = await import('@podline/worker')
      const pipeline = choosePipeline(await loadPipelineFile(file), flags.pipeline, file)
      const runner = await import('@podline/runner')
      await checkParamsOrExplain(pipeline, params)
      if (flags.task !== undefined) {
        const def = pipeline.tasks.find((t) => t.name === flags.task)
        if (!def)
          throw new UsageError(
            `${file} has no task "${flags.task}"; its tasks are ${pipeline.tasks.map((t) => t.name).join(', ')}.`,
          )
        if (def.kind !== 'pod')
          throw new UsageError(
            `task "${flags.task}" is an inline task: it runs in the worker and creates no pod.`,
          )
      }
      // renderPods comes with the runner's pod module; looked up by name so this verb builds (and
      // says what is missing) against a runner without it.
      const renderPods = (runner as Record<string, unknown>).renderPods as RenderPods | undefined
      if (typeof renderPods !== 'function') {
        process.stderr.write(
          'podline: this build of @podline/runner does not export renderPods yet; `podline plan` needs it.\n',
        )
        process.exitCode = 1
        return
      }
      const { pods: settings } = executionSettings({})
      const rendered = await renderPods(pipeline, params, {
        ...(flags.task ? { task: flags.task } : {}),
        ...(settings.kube?.namespace ? { namespace: settings.kube.namespace } : {}),
        ...(settings.sidecarImage ? { sidecarImage: settings.sidecarImage } : {}),
        ...(settings.sidecarMode ? { sidecarMode: settings.sidecarMode } : {}),
      })
      const pods = Array.isArray(rendered) ? rendered : [rendered]
      if (pods.length === 0) return void process.stdout.write(`# ${pipeline.name} has no pod tasks\n`)
      const { stringify } = await import('yaml')
      process.stdout.write(pods.map((pod) => stringify(pod)).join('---\n'))
    })
}
