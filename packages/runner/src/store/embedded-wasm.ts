import { setFlagsFromString } from 'node:v8'

/**
 * Compiles PGlite's WebAssembly (about 10 MB) with V8's baseline compiler only. By default V8 also
 * recompiles its hot functions with the optimizing compiler in the background: on a local run that
 * costs about 75 MB of peak memory (250 → 175 MB for `podline run examples/etl.ts`) and competes
 * with the run for the CPU, while a 300-task local run is only about 5 % slower without it. The flag
 * is process-wide and applies to WebAssembly compiled after it, so it is set by the embedded store
 * alone, just before PGlite loads; a worker on PostgreSQL never sets it.
 */
export function compileEmbeddedWasmForStartup(): void {
  setFlagsFromString('--liftoff-only')
}
