import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

/**
 * Where a test writes a scratch TypeScript project: inside the repository, so its files resolve
 * @podline/* (the sources, through the export condition) as a user's project does.
 */
export const scratchDir = (name: string): string => join(ROOT, 'node_modules', '.cache', name)

/**
 * Writes `files` into `dir`, emptied first, as an ES module package checked with the repository's
 * compiler options. `types: 'shipped'` resolves @podline/* to the built .d.ts files, as a user's
 * project does (npm test builds first): a reader's example is checked against what they install,
 * and tsc reads declarations instead of every package's sources (56 s → a fraction for docs/sdk.md).
 */
export function writeScratchProject(
  dir: string,
  files: Record<string, string>,
  options: { types?: 'source' | 'shipped' } = {},
): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }')
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.base.json'),
      compilerOptions: { noEmit: true, ...(options.types === 'shipped' ? { customConditions: [] } : {}) },
      include: ['*.ts'],
    }),
  )
}
