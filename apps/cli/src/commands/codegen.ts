import { basename, relative } from 'node:path'
import type { Command } from 'commander'

interface CodegenFlags {
  python: string
  pipeline?: string
  check?: boolean
}

export function registerCodegen(program: Command): void {
  program
    .command('codegen')
    .description(
      "generate Python models (pydantic) of a pipeline's pod task outputs and inputs, for images written in Python",
    )
    .argument('<file>', 'a pipeline file')
    .requiredOption('--python <dir>', 'the folder, a Python package, to write the models to')
    .option('--pipeline <name>', 'which pipeline, when the file exports several')
    .option('--check', 'write nothing: exit 1 naming the files that generating would change')
    .addHelpText(
      'after',
      '\nOne module per pod task: <Task>Output, what the pod writes (from the output schema, through its JSON\n' +
        'Schema: zod schemas have one), and <Task>Inputs, the outputs of its needs. The conversion to pydantic is\n' +
        "datamodel-codegen's, which must be on PATH (pip install 'datamodel-code-generator==0.97.0'). The same\n" +
        'pipeline gives the same bytes, so --check in CI tells when the models lag behind the pipeline.\n' +
        'Exit status: 0 done (or up to date), 1 stale files under --check or a failed generator, 2 bad input.',
    )
    .action(async (file: string, flags: CodegenFlags) => {
      const { choosePipeline, loadPipelineFile } = await import('@podline/host')
      const pipeline = choosePipeline(await loadPipelineFile(file), flags.pipeline, file)
      const { CodegenFailure } = await import('../datamodel-codegen.js')
      const { GENERATED_MARK, pythonModelFiles } = await import('../python-codegen.js')
      const { staleFiles, writeStale } = await import('../generated-files.js')
      let files: Map<string, string>
      try {
        files = await pythonModelFiles(pipeline, basename(file))
      } catch (error) {
        if (!(error instanceof CodegenFailure)) throw error
        process.stderr.write(`podline codegen: ${error.message}\n`)
        process.exitCode = 1
        return
      }
      const folder = flags.python
      const stale = await staleFiles(folder, files, GENERATED_MARK)
      const shown = (name: string) => relative(process.cwd(), `${folder}/${name}`) || name
      const listed = stale.map((s) => `  ${shown(s.name)} (${s.why})`).join('\n')
      if (flags.check) {
        if (stale.length === 0) {
          process.stderr.write(`podline codegen: the ${files.size} files in ${folder} are up to date\n`)
          return
        }
        process.stderr.write(
          `podline codegen: ${stale.length} of the Python models in ${folder} are stale, generated from an older ${basename(file)}:\n${listed}\n` +
            `Regenerate them: podline codegen ${file} --python ${folder}${flags.pipeline ? ` --pipeline ${flags.pipeline}` : ''}\n`,
        )
        process.exitCode = 1
        return
      }
      await writeStale(folder, files, stale)
      process.stderr.write(
        stale.length === 0
          ? `podline codegen: the ${files.size} files in ${folder} were up to date\n`
          : `podline codegen: wrote ${folder} (${files.size - stale.length} unchanged):\n${listed}\n`,
      )
    })
}
