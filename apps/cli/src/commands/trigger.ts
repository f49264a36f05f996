import type { Command } from 'commander'
import { printJson } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { parseParams } from '../parse-params.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'
import { waitForRun } from '../wait-for-run.js'

interface TriggerFlags {
  params?: string
  wait?: boolean
  json?: boolean
}

export function registerTrigger(program: Command): void {
  program
    .command('trigger')
    .description('queue a run of a pipeline that a worker has registered')
    .argument('<pipeline>', 'the pipeline name')
    .option('--params <json>', 'the run parameters as a JSON object')
    .option('--wait', 'block until the run ends; exit 0 only if it succeeded')
    .option('--json', 'print { "runId": …, "state": … }')
    .action(async (name: string, flags: TriggerFlags) => {
      process.exitCode = await trigger(name, flags)
    })
}

async function trigger(name: string, flags: TriggerFlags): Promise<number> {
  const params = parseParams(flags.params)
  return withOperatorStore(storeSettings(), async ({ database }) => {
    const { latestPlan, pipelineNames, triggerPlan, InvalidParamsError } = await import('@podline/runner')
    const plan = await latestPlan(database, name)
    if (!plan) {
      const known = await pipelineNames(database)
      throw new UsageError(
        `no pipeline named "${name}" is registered in ${database.location}. ${
          known.length ? `Known pipelines: ${known.join(', ')}.` : 'No pipeline is registered yet.'
        } A pipeline is registered when a worker that loads it starts (\`podline worker file.ts\`).`,
      )
    }
    // The stored plan carries the params' JSON Schema when the schema library can produce one;
    // triggerPlan checks it and creates nothing when it fails. Workers apply the real schema again.
    const runId = await triggerPlan(database, plan, params).catch((error: unknown) => {
      if (error instanceof InvalidParamsError)
        throw new UsageError(`--params ${JSON.stringify(params)}: ${error.message}.`)
      throw error
    })
    if (!flags.wait) {
      if (flags.json) printJson({ runId, state: 'queued' })
      else process.stdout.write(`run ${runId} of ${name} queued\n`)
      return 0
    }
    if (!flags.json) process.stdout.write(`run ${runId} of ${name} queued; waiting for it to end\n`)
    const state = await waitForRun(database, runId)
    // Why it did not succeed, when the run says (a failed task, params its schema refused).
    const { runStatus } = await import('@podline/runner')
    const error = state === 'success' ? null : ((await runStatus(database, runId))?.run.error ?? null)
    if (flags.json) printJson({ runId, state, ...(error ? { error } : {}) })
    else
      process.stdout.write(
        `run ${runId} ${state}${error ? `: ${error}` : ''}${state === 'success' ? '' : `; see: podline status ${runId}`}\n`,
      )
    return state === 'success' ? 0 : 1
  })
}
