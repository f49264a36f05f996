import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type * as TS from 'typescript'
import { UsageError } from './usage-error.js'

/** What the compiler found in pipeline files: its diagnostics, formatted as tsc prints them. */
export interface TypeCheckReport {
  /** Diagnostics of category error. */
  readonly errors: number
  /** The diagnostics as tsc prints them (with colour and source lines when `pretty`); '' when none. */
  readonly text: string
  /** The compiler's version and the tsconfig whose options were used, for the summary line. */
  readonly compiler: string
  readonly config: string
}

/** The tsconfig @podline/sdk ships for pipeline files: what `check` uses when a file has none of its own. */
const SHIPPED_CONFIG = '@podline/sdk/tsconfig.json'

/**
 * Type-checks pipeline files as `tsc --noEmit` would, with the options of the nearest tsconfig.json
 * above each file, or the SDK's shipped one when there is none. Only the given files (and what they
 * import) are checked, plus the declaration files the tsconfig includes (its ambient types), so a
 * file is judged as the project's editor judges it without reporting on the rest of the project.
 */
export async function typeCheck(files: readonly string[], pretty: boolean): Promise<TypeCheckReport> {
  const ts = await loadCompiler()
  const byConfig = new Map<string, string[]>()
  for (const file of files.map((f) => resolve(f))) {
    const config = ts.findConfigFile(dirname(file), ts.sys.fileExists) ?? shippedConfig()
    byConfig.set(config, [...(byConfig.get(config) ?? []), file])
  }
  const host: TS.FormatDiagnosticsHost = {
    getCanonicalFileName: (f) => f,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => '\n',
  }
  const diagnostics: TS.Diagnostic[] = []
  for (const [config, roots] of byConfig) {
    const parsed = parseConfig(ts, config)
    if (parsed.errors.length > 0) {
      diagnostics.push(...parsed.errors)
      continue
    }
    const ambient = parsed.fileNames.filter((f) => f.endsWith('.d.ts'))
    const program = ts.createProgram({
      rootNames: [...roots, ...ambient],
      options: { ...parsed.options, noEmit: true },
    })
    diagnostics.push(...ts.getPreEmitDiagnostics(program))
  }
  const sorted = ts.sortAndDeduplicateDiagnostics(diagnostics)
  const format = pretty ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics
  return {
    errors: sorted.filter((d) => d.category === ts.DiagnosticCategory.Error).length,
    text: sorted.length > 0 ? format(sorted, host) : '',
    compiler: `TypeScript ${ts.version}`,
    config: [...byConfig.keys()]
      .map((c) => (c === shippedConfig() ? SHIPPED_CONFIG : relative(process.cwd(), c) || c))
      .join(', '),
  }
}

/**
 * `run --check` and `worker --check`: the files type-check, or the compiler's errors go to stderr
 * and nothing runs (exit 2, as for any file that cannot be used).
 */
export async function assertTypeChecks(files: readonly string[]): Promise<void> {
  const report = await typeCheck(files, process.stderr.isTTY === true)
  if (report.errors === 0) return
  process.stderr.write(report.text)
  throw new UsageError(
    `${errorCount(report.errors)} in ${files.map((f) => relative(process.cwd(), f) || f).join(', ')} (${report.compiler}, ${report.config}): nothing was run. Fix ${report.errors === 1 ? 'it' : 'them'}, or leave out --check to run the file as it is.`,
  )
}

export const errorCount = (n: number): string => `${n} type error${n === 1 ? '' : 's'}`

function parseConfig(
  ts: typeof TS,
  config: string,
): { options: TS.CompilerOptions; fileNames: string[]; errors: TS.Diagnostic[] } {
  const errors: TS.Diagnostic[] = []
  const parsed = ts.getParsedCommandLineOfConfigFile(
    config,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        errors.push(d)
      },
    },
  )
  if (!parsed) return { options: {}, fileNames: [], errors }
  // A tsconfig that matches no file is fine here: the files to check are given, not included.
  const relevant = parsed.errors.filter((d) => d.code !== NO_INPUTS_FOUND)
  return { options: parsed.options, fileNames: parsed.fileNames, errors: [...errors, ...relevant] }
}

/** TS18003: "No inputs were found in config file". */
const NO_INPUTS_FOUND = 18003

function shippedConfig(): string {
  return createRequire(import.meta.url).resolve(SHIPPED_CONFIG)
}

/**
 * The project's own TypeScript (the version its editor uses), else the one beside this CLI. The
 * compiler is large, so it is loaded only by the verbs that check types.
 */
async function loadCompiler(): Promise<typeof TS> {
  const from = [join(process.cwd(), 'package.json'), import.meta.url]
  for (const base of from) {
    let path: string
    try {
      path = createRequire(base).resolve('typescript')
    } catch {
      continue
    }
    const mod = (await import(pathToFileURL(path).href)) as { default?: typeof TS } & typeof TS
    return mod.default ?? mod
  }
  throw new UsageError(
    'type-checking needs the TypeScript compiler, and none is installed here or beside podline. Install it in your project with `npm install --save-dev typescript`.',
  )
}
