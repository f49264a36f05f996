import { drain } from './drain.js'

/** `npx tsx bench/src/quick-throughput.ts [tasks]`: only the 1-worker throughput pair, for a fast before/after. */
const tasks = Number(process.argv[2] ?? 3000)
for (const system of ['podline', 'graphile'] as const) {
  const r = await drain(system, 1, tasks)
  process.stdout.write(`${system} 1 worker: ${Math.round(r.tasksPerSecond)} tasks/s\n`)
}
