// Preloaded with `node --import` by local-loop.test.ts: appends every module the process resolves
// (ES modules through a resolve hook, CommonJS through Module._resolveFilename) to the file named by
// PODLINE_MODULE_LOG, so a test can check what a command loaded from its module graph, not its time.
import { appendFileSync } from 'node:fs'
import Module, { register } from 'node:module'

const file = process.env.PODLINE_MODULE_LOG
if (file) {
  register(new URL('./record-modules-hooks.mjs', import.meta.url), { data: { file } })
  const resolveFilename = Module._resolveFilename
  Module._resolveFilename = function (...args) {
    const resolved = resolveFilename.apply(this, args)
    appendFileSync(file, `${resolved}\n`)
    return resolved
  }
}
