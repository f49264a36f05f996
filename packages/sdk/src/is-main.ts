import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const EXTENSIONS = ['', '.ts', '.mts', '.js', '.mjs', '.cts', '.cjs']

function real(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}

/**
 * `true` when the module that passes its `import.meta` is the program's entry point, so a pipeline
 * file can run itself under `tsx pipeline.ts` and stay inert when `podline worker` imports it.
 */
export function isMain(meta: { url: string; main?: boolean }): boolean {
  if (typeof meta.main === 'boolean') return meta.main
  const entry = process.argv[1]
  if (!entry || !meta.url.startsWith('file:')) return false
  const self = real(fileURLToPath(meta.url))
  return EXTENSIONS.some((ext) => real(entry + ext) === self)
}
