import { spawn } from 'node:child_process'
import { UsageError } from './usage-error.js'

/**
 * datamodel-code-generator turns JSON Schema into pydantic models; `podline codegen --python` runs it
 * as a child process, one run for every module. The version is pinned where it is installed
 * (sdks/python/pyproject.toml, the `codegen` and `dev` extras): another version words the same
 * models differently, and `--check` would call every file stale.
 */
export const DATAMODEL_CODEGEN = 'datamodel-codegen'
export const DATAMODEL_CODEGEN_PACKAGE = 'datamodel-code-generator==0.97.0'

/** Stands for the header of each generated file, which the caller writes per file. */
export const HEADER_PLACEHOLDER = '# podline codegen header'

/** A run takes a second or two; one that takes two minutes is stuck. */
const DEADLINE_MS = 120_000

/** The generator ran and failed: the work failed (exit 1), with what it printed. */
export class CodegenFailure extends Error {
  override readonly name = 'CodegenFailure'
}

/** Converts every `<module>.json` of `inputDir` into `<module>.py` in `outputDir`. */
export function runDatamodelCodegen(inputDir: string, outputDir: string): Promise<void> {
  const args = [
    '--input',
    inputDir,
    '--input-file-type',
    'jsonschema',
    '--output',
    outputDir,
    '--output-model-type',
    'pydantic_v2.BaseModel',
    '--target-python-version',
    '3.11',
    // Deterministic and without black or isort: --check compares bytes.
    '--disable-timestamp',
    '--formatters',
    'builtin',
    '--use-double-quotes',
    '--use-title-as-name',
    '--use-schema-description',
    '--use-field-description',
    '--field-constraints',
    '--custom-file-header',
    HEADER_PLACEHOLDER,
  ]
  const child = spawn(DATAMODEL_CODEGEN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const collect = (chunk: Buffer) => {
    if (output.length < 20_000) output += chunk.toString('utf8')
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new CodegenFailure(
          `${DATAMODEL_CODEGEN} did not finish within ${DEADLINE_MS / 1000} s and was stopped; what it printed:\n${output}`,
        ),
      )
    }, DEADLINE_MS)
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(
        error.code === 'ENOENT'
          ? new UsageError(
              `podline codegen --python converts JSON Schema to pydantic models with ${DATAMODEL_CODEGEN}, which is not on PATH; ` +
                `install it with pip install '${DATAMODEL_CODEGEN_PACKAGE}' (in this repository, bash scripts/python-env.sh puts it in .venv/bin) ` +
                'and run podline codegen with that environment on PATH',
            )
          : error,
      )
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else if (signal !== 'SIGKILL')
        reject(new CodegenFailure(`${DATAMODEL_CODEGEN} exited with ${code ?? signal}:\n${output.trimEnd()}`))
    })
  })
}
