import type { Command } from 'commander'
import { printJson, table } from '../format.js'
import { withOperatorStore } from '../open-store.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

/** Slots as stored: a whole number that fits PostgreSQL's integer. */
const MAX_SLOTS = 2_147_483_647

export function registerPools(program: Command): void {
  const pools = program
    .command('pools')
    .description(
      'list the pools: their slots, the slots their running task runs take, and how many wait queued',
    )
    .option('--json', 'print JSON')
    // A word that is no verb of its own reaches the listing, which names the verbs.
    .allowExcessArguments(true)
    .addHelpText(
      'after',
      '\nA task takes slots of a pool with `pool: NAME` (and `poolSlots`, default 1) in its options; across all\n' +
        'workers, the running task runs of a pool never take more slots than it has.\n' +
        '  podline pools set NAME --slots N [--description TEXT]   create a pool or change its slots\n' +
        '  podline pools delete NAME                               delete a pool no open task run uses',
    )
    .action(async (flags: { json?: boolean }, command: Command) => {
      const [verb] = command.args
      if (verb !== undefined)
        throw new UsageError(
          `unknown command "pools ${verb}": use \`podline pools\` to list, \`podline pools set NAME --slots N\` or \`podline pools delete NAME\``,
        )
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { listPools } = await import('@podline/runner')
        const rows = await listPools(database)
        if (flags.json) return printJson(rows)
        if (rows.length === 0)
          return void process.stdout.write('no pools: create one with `podline pools set NAME --slots N`\n')
        process.stdout.write(
          `${table(
            ['POOL', 'SLOTS', 'RUNNING SLOTS', 'QUEUED', 'DESCRIPTION'],
            rows.map((r) => [
              r.name,
              r.slots === null ? 'missing' : String(r.slots),
              String(r.runningSlots),
              String(r.queued),
              r.slots === null
                ? `no such pool: its task runs wait for podline pools set ${r.name}`
                : (r.description ?? ''),
            ]),
          )}\n`,
        )
      })
    })

  pools
    .command('set')
    .description('create a pool, or change its slots (and description)')
    .argument('<name>', "the pool's name, as tasks give it in `pool`")
    .requiredOption(
      '--slots <n>',
      'how many slots its running task runs may take at once, across all workers (0 stops it)',
    )
    .option('--description <text>', 'what the pool guards (kept when left out; "" clears it)')
    .addHelpText(
      'after',
      '\nA smaller count stops nothing that runs: the pool takes no new task run until the running ones fit.',
    )
    .action(async (name: string, flags: { slots: string; description?: string }) => {
      const slots = parseSlots(flags.slots)
      const { poolNameProblem } = await import('@podline/sdk')
      const problem = poolNameProblem(name)
      if (problem) throw new UsageError(problem)
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { setPool } = await import('@podline/runner')
        const { previousSlots } = await setPool(database, {
          name,
          slots,
          ...(flags.description === undefined ? {} : { description: flags.description }),
        })
        const count = `${slots} slot${slots === 1 ? '' : 's'}`
        process.stdout.write(
          previousSlots === null
            ? `pool ${name} created: ${count}\n`
            : `pool ${name}: ${count} (was ${previousSlots})\n`,
        )
      })
    })

  pools
    .command('delete')
    .description('delete a pool, unless task runs that have not ended take slots of it')
    .argument('<name>', 'the pool to delete')
    .addHelpText('after', '\nExit status: 0 when deleted, 2 when there is no such pool or it is in use.')
    .action(async (name: string) => {
      await withOperatorStore(storeSettings(), async ({ database }) => {
        const { deletePool, poolInUseMessage } = await import('@podline/runner')
        const result = await deletePool(database, name)
        if (result.outcome === 'missing')
          throw new UsageError(`there is no pool "${name}"; see \`podline pools\``)
        if (result.outcome === 'in-use') throw new UsageError(poolInUseMessage(name, result.users))
        process.stdout.write(`pool ${name} deleted\n`)
      })
    })
}

function parseSlots(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > MAX_SLOTS)
    throw new UsageError(`--slots ${JSON.stringify(text)} is not a whole number of slots (0 to ${MAX_SLOTS})`)
  return Number(text)
}
