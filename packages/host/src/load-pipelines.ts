import { existsSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type AnyPipeline, isPipeline } from '@podline/sdk'
import { PipelineFileError } from './pipeline-file-error.js'
import { registerTypeScript } from './register-typescript.js'

/** A pipeline found in a file, with the name of the export that holds it. */
export interface LoadedPipeline {
  pipeline: AnyPipeline
  file: string
  exportName: string
}

const GLOB_CHARS = /[*?[\]{}]/

/** Expands files and globs (relative to `cwd`) into absolute paths, each pattern required to match. */
export async function expandPatterns(patterns: readonly string[], cwd = process.cwd()): Promise<string[]> {
  const files: string[] = []
  for (const pattern of patterns) {
    if (!GLOB_CHARS.test(pattern)) {
      const file = resolve(cwd, pattern)
      if (!existsSync(file)) {
        throw new PipelineFileError(
          `the pipeline file ${pattern} does not exist (looked in ${file}). Check the path, or pass a glob such as "pipelines/*.ts".`,
        )
      }
      files.push(file)
      continue
    }
    // tinyglobby is loaded only when a glob is given: most invocations name files.
    const { glob } = await import('tinyglobby')
    const found = await glob(pattern, { cwd, absolute: true, onlyFiles: true })
    if (found.length === 0) {
      throw new PipelineFileError(
        `no file matches ${pattern} (from ${cwd}). Check the pattern and the current folder.`,
      )
    }
    files.push(...found.sort())
  }
  return [...new Set(files)]
}

/** Imports one pipeline file (TypeScript or JavaScript) and returns every pipeline it exports. */
export async function loadPipelineFile(file: string): Promise<LoadedPipeline[]> {
  const path = isAbsolute(file) ? file : resolve(file)
  if (!existsSync(path)) {
    throw new PipelineFileError(
      `the pipeline file ${file} does not exist (looked in ${path}). Check the path.`,
    )
  }
  await registerTypeScript()
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>
  } catch (error) {
    const reason = error instanceof Error ? (error.stack ?? error.message) : String(error)
    throw new PipelineFileError(`could not load ${shown(path)}: ${reason}`, { cause: error })
  }
  const found: LoadedPipeline[] = []
  for (const [exportName, value] of Object.entries(mod)) {
    // `export default p` next to `export const p` is one pipeline, listed once.
    if (isPipeline(value) && !found.some((f) => f.pipeline === value))
      found.push({ pipeline: value, file: path, exportName })
  }
  if (found.length === 0) {
    const names = Object.keys(mod)
    const exported = names.length
      ? `it exports ${names.map((n) => `${n} (${describe(mod[n])})`).join(', ')}`
      : 'it exports nothing'
    throw new PipelineFileError(
      `${shown(path)} exports no pipeline: ${exported}. Export one built with pipeline(...) from '@podline/sdk', e.g. \`export default pipeline('name').task(...)\`.`,
    )
  }
  return found
}

/** Loads every file the patterns match; two different pipelines with one name are an error. */
export async function loadPipelines(
  patterns: readonly string[],
  cwd = process.cwd(),
): Promise<LoadedPipeline[]> {
  const all: LoadedPipeline[] = []
  for (const file of await expandPatterns(patterns, cwd)) {
    for (const loaded of await loadPipelineFile(file)) {
      const same = all.find((a) => a.pipeline.name === loaded.pipeline.name)
      if (!same) all.push(loaded)
      else if (same.pipeline.plan().version !== loaded.pipeline.plan().version) {
        throw new PipelineFileError(
          `two different pipelines are named "${loaded.pipeline.name}" (${shown(same.file)} and ${shown(loaded.file)}); rename one.`,
        )
      }
    }
  }
  return all
}

/** Picks the pipeline `podline run` and `podline plan` act on: the named one, else the default export, else the only one. */
export function choosePipeline(
  loaded: readonly LoadedPipeline[],
  name: string | undefined,
  file: string,
): AnyPipeline {
  const names = loaded.map((l) => l.pipeline.name)
  if (name !== undefined) {
    const match = loaded.find((l) => l.pipeline.name === name || l.exportName === name)
    if (!match) throw new PipelineFileError(`${file} has no pipeline "${name}"; it has: ${names.join(', ')}.`)
    return match.pipeline
  }
  const chosen =
    loaded.find((l) => l.exportName === 'default') ?? (loaded.length === 1 ? loaded[0] : undefined)
  if (!chosen) {
    throw new PipelineFileError(
      `${file} exports ${loaded.length} pipelines and none is the default export; choose one with --pipeline <name> (${names.join(', ')}).`,
    )
  }
  return chosen.pipeline
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path)
  return rel.startsWith('..') ? path : rel
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object that is not a pipeline'
  return `a ${typeof value}`
}
