import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Files the runner reads at run time (its migrations, the lease thread's program) are found from
 * the package's root, not from this module's folder: the sources keep one file per module, the
 * build bundles them into a few chunks (build.mjs), and both must find the same files.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
  return dir
}

const ROOT = packageRoot()

/** True when the runner runs from its TypeScript sources (vitest, tsx), false from its build. */
export const FROM_SOURCES = import.meta.url.endsWith('.ts')

/** A file of the runner package, by its path from the package's root. */
export function packageFile(path: string): string {
  return join(ROOT, path)
}
