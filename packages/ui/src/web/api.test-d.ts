import type { RunState, TaskState, Transition } from '@podline/runner'
import { expectTypeOf } from 'vitest'
import type { AssetEvent, AssetRow, api, LogLine, Pipeline, RunDetail, RunRow } from './api.js'

// The app's types come from the server's routes through hc: the states are the runner's, and dates
// arrive as the ISO strings JSON carries.
expectTypeOf<RunRow['state']>().toEqualTypeOf<RunState>()
expectTypeOf<RunRow['createdAt']>().toEqualTypeOf<string>()
expectTypeOf<RunRow['logicalDate']>().toEqualTypeOf<string | null>()
expectTypeOf<RunDetail['tasks'][number]['state']>().toEqualTypeOf<TaskState>()
expectTypeOf<RunDetail['tasks'][number]['needs']>().toEqualTypeOf<string[]>()
expectTypeOf<RunDetail['tasks'][number]['attempts'][number]['finishedAt']>().toEqualTypeOf<string | null>()
expectTypeOf<LogLine['id']>().toEqualTypeOf<string>()
// The live stream's transitions name their states by the same lists.
expectTypeOf<Transition['to']>().toEqualTypeOf<TaskState>()
expectTypeOf<Pipeline['schedule']>().toExtend<{ nextTick: string | null; paused: boolean } | null>()
// An asset's events name the run that produced them, or none for an emitted one.
expectTypeOf<AssetEvent['producer']>().toEqualTypeOf<{
  pipeline: string
  runId: string
  task: string
} | null>()
expectTypeOf<AssetRow['consumers'][number]['mode']>().toEqualTypeOf<'all' | 'any'>()
expectTypeOf<NonNullable<RunDetail['run']['assets']>[string]['createdAt']>().toEqualTypeOf<string>()

declare const client: typeof api
// @ts-expect-error a run's id is a path parameter
void client.runs[':id'].$get({ query: { id: 'x' } })
// @ts-expect-error a trigger sends its params as JSON
void client.pipelines[':name'].runs.$post({ param: { name: 'etl' } })
