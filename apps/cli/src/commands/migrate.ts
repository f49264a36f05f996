import type { Command } from 'commander'
import { storeSettings } from '../settings.js'

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create or update the Podline schema in DATABASE_URL (or the embedded store)')
    .addHelpText(
      'after',
      '\nSafe to run from many places at once: one applies the migrations, the others wait.',
    )
    .action(async () => {
      const { openStore } = await import('@podline/runner')
      const store = await openStore({ ...(await storeSettings()), migrate: true })
      const where = store.database.location
      await store.close()
      process.stdout.write(`the Podline schema in ${where} is up to date\n`)
    })
}
