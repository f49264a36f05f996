import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from './usage-error.js'

/** How a file of the folder differs from what generating it would give. */
export interface StaleFile {
  readonly name: string
  readonly why: 'missing' | 'changed' | 'no longer generated'
}

/**
 * Compares a folder with the files generating it gives (`mark`: the first words of a generated
 * file). A generated file no longer produced (its task was removed) is stale too; a file of the
 * user's is never touched, and one in the way of a generated file is a UsageError.
 */
export async function staleFiles(
  folder: string,
  files: ReadonlyMap<string, string>,
  mark: string,
): Promise<StaleFile[]> {
  const present = new Map<string, string>()
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    if (!name.endsWith('.py')) continue
    present.set(name, await readFile(join(folder, name), 'utf8').catch(() => ''))
  }
  const stale: StaleFile[] = []
  for (const [name, content] of files) {
    const existing = present.get(name)
    if (existing === undefined) stale.push({ name, why: 'missing' })
    else if (!existing.startsWith(mark))
      throw new UsageError(
        `${join(folder, name)} exists and was not written by podline codegen; move it, or generate into another folder`,
      )
    else if (existing !== content) stale.push({ name, why: 'changed' })
  }
  for (const [name, existing] of present)
    if (!files.has(name) && existing.startsWith(mark)) stale.push({ name, why: 'no longer generated' })
  return stale.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

/** Brings the folder up to date: writes what is missing or changed, removes what is no longer generated. */
export async function writeStale(
  folder: string,
  files: ReadonlyMap<string, string>,
  stale: readonly StaleFile[],
): Promise<void> {
  await mkdir(folder, { recursive: true })
  for (const { name, why } of stale) {
    const content = files.get(name)
    if (why === 'no longer generated' || content === undefined) await rm(join(folder, name), { force: true })
    else await writeFile(join(folder, name), content)
  }
}
