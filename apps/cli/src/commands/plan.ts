import type { Command } from 'commander'
import { checkParamsOrExplain, paramsProblem } from '../check-params.js'
import { parseParams } from '../parse-params.js'
import { executionSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

interface PlanFlags {
  params?: string
  task?: string
  pipeline?: string
  strict?: boolean
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('print, as YAML, the pods a pipeline file would create, without running anything')
    .argument('<file>', 'a pipeline file')
    .option('--params <json>', 'the run parameters as a JSON object')
    .option('--task <name>', 'only this pod task')
    .option('--pipeline <name>', 'which pipeline, when the file exports several')
    .option('--strict', 'exit 1 when a pod cannot be rendered')
    .addHelpText(
      'after',
      '\nA pod spec that needs upstream outputs is rendered with placeholders for them, and so are params that\n' +
        'the pipeline requires when --params is not given; a spec that cannot be\n' +
        'rendered without their real values is named on stderr, and the others are still printed.',
    )
    .action(async (file: string, flags: PlanFlags) => {
      const given = parseParams(flags.params)
      const { choosePipeline, loadPipelineFile } = await import('@podline/host')
      const pipeline = choosePipeline(await loadPipelineFile(file), flags.pipeline, file)
      // The pod module loads client-node, so it is imported only by the verbs that need it.
      const { renderPods, symbolicValue } = await import('@podline/runner/pods')
      let params: unknown = given
      if (flags.params !== undefined) await checkParamsOrExplain(pipeline, given, { createsRun: false })
      else {
        // No --params for a pipeline that requires some: the pods are still shown, each param a
        // placeholder ({{ params.date }}) where the spec uses it.
        const problem = await paramsProblem(pipeline, given, { createsRun: false })
        if (problem !== undefined) {
          params = symbolicValue('params')
          process.stderr.write(
            `podline plan: no --params, and the pipeline needs some (${problem}): the pods show {{ params.… }} where a param goes; pass --params '{…}' to see them with values\n`,
          )
        }
      }
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
      const { pods: settings } = await executionSettings({})
      const { pods, unrendered } = await renderPods(pipeline, params, {
        ...(flags.task ? { task: flags.task } : {}),
        ...(settings.kube?.namespace ? { namespace: settings.kube.namespace } : {}),
        ...(settings.sidecarImage ? { sidecarImage: settings.sidecarImage } : {}),
        ...(settings.sidecarMode ? { sidecarMode: settings.sidecarMode } : {}),
      })
      if (pods.length === 0 && unrendered.length === 0)
        return void process.stdout.write(`# ${pipeline.name} has no pod tasks\n`)
      const { stringify } = await import('yaml')
      process.stdout.write(pods.map((pod) => stringify(pod)).join('---\n'))
      for (const { task, reason } of unrendered)
        process.stderr.write(
          `podline plan: the pod of task "${task}" cannot be rendered without its upstream values (its spec function threw: ${reason}); ` +
            'it is left out, the others are printed\n',
        )
      if (flags.strict && unrendered.length > 0) process.exitCode = 1
    })
}
