import { relative } from 'node:path'
import type { Command } from 'commander'
import { errorCount, typeCheck } from '../type-check.js'

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('type-check pipeline files with the TypeScript compiler (as tsc --noEmit), running nothing')
    .argument('<files...>', 'pipeline files or globs (quote globs: "pipelines/*.ts")')
    .addHelpText(
      'after',
      '\nThe compiler options are those of the nearest tsconfig.json above each file, else the ones @podline/sdk\n' +
        'ships for pipeline files; a project\'s own tsconfig.json can extend them: { "extends": "@podline/sdk/tsconfig.json" }.\n' +
        'Errors are printed on stdout as tsc prints them. `podline run --check` and `podline worker --check` check first too.\n' +
        'Exit status: 0 when the files type-check, 1 when there is a type error, 2 for a file that does not exist.',
    )
    .action(async (patterns: string[]) => {
      const { expandPatterns } = await import('@podline/host')
      const files = await expandPatterns(patterns)
      const report = await typeCheck(files, process.stdout.isTTY === true)
      process.stdout.write(report.text)
      const names = files.map((f) => relative(process.cwd(), f) || f).join(', ')
      process.stderr.write(
        report.errors > 0
          ? `podline check: ${errorCount(report.errors)} in ${names} (${report.compiler}, ${report.config})\n`
          : `podline check: ${names} type-check${files.length === 1 ? 's' : ''} (${report.compiler}, ${report.config})\n`,
      )
      process.exitCode = report.errors > 0 ? 1 : 0
    })
}
