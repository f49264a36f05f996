import { trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace'
import { pipeline } from '@podline/sdk'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Database, runLocal } from '../index.js'
import { openFreshDatabase } from '../testing/index.js'

/* Each item of a mapped task is an attempt span of its own that names its index. */
let database: Database
let close: () => Promise<void>
const exporter = new InMemorySpanExporter()
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] })
beforeAll(async () => {
  ;({ database, close } = await openFreshDatabase())
  trace.setGlobalTracerProvider(provider)
})
afterAll(async () => {
  trace.disable()
  await provider.shutdown()
  await close()
})

it("an item's attempt span carries podline.map_index; the mapped task's own does not", async () => {
  const p = pipeline('spans-mapped')
    .task('list', () => ['a', 'b', 'c'])
    .map('each', { needs: ['list'], over: ({ list }) => list }, (letter) => letter.toUpperCase())
  expect((await runLocal(p, {}, { database })).each).toEqual(['A', 'B', 'C'])
  const attempts = exporter.getFinishedSpans().filter((s) => s.name === 'task each')
  const indexes = attempts.map((s) => s.attributes['podline.map_index'])
  // The expansion (the task's own row) and its three items.
  expect(indexes.filter((i) => i === undefined)).toHaveLength(1)
  expect(indexes.filter((i) => i !== undefined).sort()).toEqual([0, 1, 2])
})
