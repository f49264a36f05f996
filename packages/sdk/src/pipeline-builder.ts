import type { StandardJSONSchemaV1 } from '@standard-schema/spec'
import {
  type AnyAsset,
  AssetDefinitionError,
  type AssetsContext,
  type AssetTrigger,
  assetsOf,
  isAsset,
  type ProducedOutput,
  type ProducesCheck,
} from './asset.js'
import {
  CALLBACK_OPTION,
  callbackEvents,
  type DeadlineCallback,
  type DeadlineOptions,
  type PlanDeadline,
  type ResolvedCallbacks,
  type ResolvedTaskCallbacks,
  type RunCallback,
  TASK_CALLBACK_KEYS,
  type TaskCallback,
} from './callbacks.js'
import {
  type ConcurrencyOptions,
  concurrencyProblem,
  type ResolvedConcurrency,
  taskComputedOf,
} from './concurrency.js'
import type { PodSpecContext, TaskContext } from './context.js'
import { guardInputs } from './inputs.js'
import type { IsJson, JsonValue } from './json.js'
import { assertValidName, type CheckName } from './names.js'
import { buildPlan, jsonSchemaOf, type PipelinePlan } from './plan.js'
import type { PodRunOptions, PodSpec } from './pod-spec.js'
import { planSchedule, type ResolvedSchedule, resolveSchedule, type ScheduleOptions } from './schedule.js'
import type { AnySchema, SchemaInput, SchemaOutput } from './schema.js'
import type {
  InlineTaskDefinition,
  MapDefinition,
  PodTaskDefinition,
  TaskDefinition,
  WaitTaskDefinition,
} from './task-definition.js'
import {
  type Duration,
  MAP_OPTION_KEYS,
  POD_OPTION_KEYS,
  type ProducedAssets,
  parseDuration,
  resolveTaskOptions,
  TASK_OPTION_KEYS,
  type TaskOptions,
  type TriggerRule,
  WAIT_OPTION_KEYS,
} from './task-options.js'
import type { AddAbsent, InputsFor, OutputMap, RunOutputs, TaskEntry } from './task-types.js'
import type { PodlineTypeError } from './type-error.js'

type Awaitable<T> = T | Promise<T>

/** `unknown` (no constraint) when `N` is a fresh, valid task name; otherwise a readable error. */
type ValidTaskName<N extends string, Tasks extends TaskEntry> = N extends Tasks['name']
  ? PodlineTypeError<`a task named '${N}' already exists in this pipeline; task names must be unique`>
  : CheckName<N> extends N
    ? unknown
    : CheckName<N>

/** `unknown` when the function's result is JSON; otherwise a readable error. */
type JsonResult<R> =
  IsJson<Awaited<R>> extends true
    ? unknown
    : PodlineTypeError<'a task must return JSON (plain objects, arrays, strings, finite numbers, booleans, null): not a function, Date, Map, class instance, bigint or undefined'>

/**
 * The message when `over` does not return an array. A mapped task's `Items` is constrained to
 * `readonly unknown[] | PodlineTypeError<OverNotArray>`, written out where it is used so that the
 * compiler's message shows it: a non-array result is reported as not assignable to it. (A check
 * intersected into a parameter, as the task functions have, fixes `Items` before `over` is read.)
 */
type OverNotArray =
  'over must return an array: each element becomes one task run of the mapped task (return [] for none)'

/**
 * The element type of what `over` returns: the first parameter of a mapped task's function. An
 * indexed access, not a conditional type, so that a function whose item is annotated is compared
 * with the element type (a conditional would fix `Items` before `over` is read).
 */
type ItemOf<Items> = Items[number & keyof Items]

/** Fans a task out over a list: `over` picks the items from the inputs, one task run per item. */
interface MapOptionsOf<Inputs, Items> {
  /**
   * The items, from the task's inputs: each element becomes one task run (own attempts, retries,
   * timeout, logs), and its function receives it as its first parameter.
   */
  over: (inputs: Inputs) => Items
  /** At most this many items running at once. Default: no bound. */
  maxParallel?: number
}

export interface MapTaskOptions<
  Needs extends readonly string[] = readonly string[],
  Rule extends TriggerRule = TriggerRule,
  Inputs = Record<string, unknown>,
  Items = readonly unknown[],
  Params = unknown,
> extends Omit<TaskOptions<Needs, Rule, Params, Inputs>, 'produces' | 'cache'>,
    MapOptionsOf<Inputs, Items> {}

export interface MapPodTaskOptions<
  Needs extends readonly string[] = readonly string[],
  S extends AnySchema | undefined = AnySchema | undefined,
  Rule extends TriggerRule = TriggerRule,
  Inputs = Record<string, unknown>,
  Items = readonly unknown[],
  Params = unknown,
> extends Omit<TaskOptions<Needs, Rule, Params, Inputs>, 'produces' | 'cache'>,
    Omit<PodRunOptions, 'skipOnExitCode'>,
    MapOptionsOf<Inputs, Items> {
  /** A Standard Schema for what each item's pod writes; the task's output is an array of its output type. */
  output?: S
}

/** The inputs a task of pipeline `P` receives when it needs `Needs` (under the default trigger rule). */
export type InputsOf<
  P,
  Needs extends readonly PropertyKey[],
  Rule extends TriggerRule = 'all_success',
> = InputsFor<TasksOf<P>, Needs, Rule>

export interface PodTaskOptions<
  Needs extends readonly string[] = readonly string[],
  S extends AnySchema | undefined = AnySchema | undefined,
  Rule extends TriggerRule = TriggerRule,
  Skip extends PodRunOptions['skipOnExitCode'] = PodRunOptions['skipOnExitCode'],
  Params = unknown,
  Inputs = Record<string, unknown>,
  Produces extends ProducedAssets | undefined = ProducedAssets | undefined,
> extends TaskOptions<Needs, Rule, Params, Inputs, Produces>,
    Omit<PodRunOptions, 'skipOnExitCode'> {
  /** A Standard Schema for what the pod writes; its output type is the task's output. Use `json<T>()` for a type alone. */
  output?: S
  /** Exit codes of `base` that mark the task skipped instead of failed (its output is then absent). */
  skipOnExitCode?: Skip
}

export interface WaitOptions<
  Needs extends readonly string[] = readonly string[],
  S extends AnySchema | undefined = AnySchema | undefined,
  Rule extends TriggerRule = TriggerRule,
> {
  /** The earlier tasks that must end before the step starts waiting. */
  needs?: Needs
  /** As for a task: when the step may start waiting, given how its needs ended. */
  triggerRule?: Rule
  /**
   * The signal's payload schema: a payload that fails it is refused with its messages and the step
   * keeps waiting; the payload is the step's output, typed by the schema. It must have a JSON
   * Schema (zod 4, arktype, valibot with its converter): `podline signal` checks with that.
   */
  signal?: S
  /** The step fails this long after it began waiting, unless a signal came (trigger rules then apply). */
  timeout?: Duration
  /** Instead of a signal: the step succeeds this long after it began waiting, with the output null. */
  sleep?: Duration
}

export interface PipelineOptions<
  S extends AnySchema | undefined,
  On extends AssetTrigger | undefined = AssetTrigger | undefined,
> {
  /** A Standard Schema (zod, valibot, arktype, …) for the run's parameters; its output type is `ctx.params`. */
  params?: S
  /** Mixed into the version hash: bump it when task code changes in a way old workers must not run. */
  version?: string
  /**
   * Runs the pipeline on a cron, in a time zone, exactly once per tick across all workers.
   * @example
   * pipeline('nightly-etl', {
   *   params: z.object({ date: z.string() }),
   *   schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris', params: ({ logicalDate }) => ({ date: logicalDate.slice(0, 10) }) },
   * })
   */
  schedule?: ScheduleOptions<S extends AnySchema ? SchemaInput<S> : undefined>
  /**
   * Runs the pipeline when assets are updated (Airflow's asset schedules), beside or instead of a
   * schedule: one asset or `any(a, b)` create one run per event; `all(a, b)` one run once each has
   * an event since the last run. Exactly once across workers; the tasks read the events typed, as
   * `ctx.assets`. The run's params are the params schema's output for `{}`.
   * @example
   * pipeline('report', { on: orders }).task('sum', (_in, ctx) => ctx.assets['warehouse.orders'].value.rows)
   */
  on?: On
  /**
   * At most this many runs of the pipeline running at once; later runs wait queued, oldest first.
   * Default: no limit.
   */
  maxActiveRuns?: number
  /**
   * Runs with the same key wait for each other, oldest first: at most `limit` (default 1) of them
   * run at once. The key is computed from the run's params, typed by the `params` schema.
   * @example
   * pipeline('sync-customer', {
   *   params: z.object({ customer: z.string() }),
   *   concurrency: { key: ({ params }) => params.customer },
   * })
   */
  concurrency?: ConcurrencyOptions<S extends AnySchema ? SchemaOutput<S> : Record<string, never>>
  /**
   * Runs once when a run of the pipeline fails, on any worker, after the run has ended: queued in
   * the same transaction that ends the run, so a crash cannot lose it; tried again when it throws.
   * @example
   * pipeline('nightly', { onFailure: async (run) => page(`${run.pipeline} failed: ${run.failedTasks[0]?.error}`) })
   */
  onFailure?: RunCallback<S extends AnySchema ? SchemaOutput<S> : Record<string, never>>
  /** Runs once when a run of the pipeline succeeds, as `onFailure` does for a failure. */
  onSuccess?: RunCallback<S extends AnySchema ? SchemaOutput<S> : Record<string, never>>
  /**
   * When a run must have finished (Airflow's deadline alerts). A run still queued or running then
   * is marked as past its deadline (`podline status`, the UI) and `onDeadline` runs once for it.
   * @example
   * pipeline('nightly', { deadline: { after: '2h', from: 'logicalDate' }, onDeadline: webhook({ url }) })
   */
  deadline?: DeadlineOptions
  /** Runs once for each run that has not finished by its `deadline`, as `onFailure` does. */
  onDeadline?: DeadlineCallback<S extends AnySchema ? SchemaOutput<S> : Record<string, never>>
  /**
   * Runs once for each failed attempt of any task of the pipeline that is retried (a task's own
   * `onRetry` answers for that task alone), as `onFailure` does.
   */
  onRetry?: TaskCallback<S extends AnySchema ? SchemaOutput<S> : Record<string, never>>
}

/** The type-level state of a builder, for `runLocal` and friends. */
export interface PipelineTypes<Params, ParamsInput, Tasks extends TaskEntry, Absent extends string = never> {
  params: Params
  paramsInput: ParamsInput
  tasks: Tasks
  /** Names of the tasks a successful run may lack (see {@link RunOutputsOf}). */
  absent: Absent
}

/**
 * An immutable pipeline: every method returns a new pipeline, so a half-built one can be branched.
 * `Tasks` holds one {@link TaskEntry} per task (name, output type, whether it may be absent);
 * {@link OutputsOf} turns it into an object keyed by task name.
 */
export interface Pipeline<
  Params = Record<string, never>,
  ParamsInput = Params,
  Tasks extends TaskEntry = never,
  Absent extends string = never,
  /** What `ctx.assets` holds: the events of the assets the pipeline runs on (see {@link AssetsContext}). */
  Assets = {},
> {
  readonly name: string
  readonly paramsSchema: AnySchema | undefined
  /** The schedule, with its params function; undefined when the pipeline runs only when triggered. */
  readonly schedule: ResolvedSchedule | undefined
  /** The concurrency key and its limit; undefined when runs never wait for each other by key. */
  readonly concurrency: ResolvedConcurrency | undefined
  /** `onFailure` and `onSuccess`, as given. */
  readonly callbacks: ResolvedCallbacks
  /** Tasks in definition order, which is a topological order. */
  readonly tasks: readonly TaskDefinition[]
  /** The assets whose events create its runs; undefined when none do. */
  readonly on: AssetTrigger | undefined
  /** Type-level only: never present at run time. */
  readonly '~types'?: PipelineTypes<Params, ParamsInput, Tasks, Absent>

  /**
   * An inline task: `fn` runs in the worker's process. Its result must be JSON and becomes the
   * task's output, which later tasks receive typed when they list this task in `needs`.
   * @example
   * pipeline('demo').task('extract', async (_inputs, ctx) => ({ rows: 12, day: ctx.runId }))
   */
  task<const N extends string, R>(
    name: N & ValidTaskName<N, Tasks>,
    fn: ((inputs: {}, ctx: TaskContext<Params, Assets>) => R) & JsonResult<R>,
  ): Pipeline<Params, ParamsInput, Tasks | TaskEntry<N, Awaited<R>>, Absent, Assets>
  /**
   * @example
   * p.task('report', { needs: ['extract'], retries: 2 }, async ({ extract }) => extract.rows * 2)
   */
  task<
    const N extends string,
    const Needs extends readonly Tasks['name'][],
    R extends ProducedOutput<P>,
    const Rule extends TriggerRule = 'all_success',
    const P extends ProducedAssets | undefined = undefined,
  >(
    name: N & ValidTaskName<N, Tasks>,
    options: TaskOptions<Needs, Rule, Params, InputsFor<Tasks, Needs, Rule>, P>,
    fn: ((inputs: InputsFor<Tasks, Needs, Rule>, ctx: TaskContext<Params, Assets>) => R) & JsonResult<R>,
  ): Pipeline<
    Params,
    ParamsInput,
    Tasks | TaskEntry<N, Awaited<R>>,
    AddAbsent<Tasks, Absent, N, Needs, Rule>,
    Assets
  >

  /**
   * A pod task: runs `spec` as a Kubernetes pod (container `base`). The container writes its result
   * as JSON to `$PODLINE_XCOM_PATH` (`/airflow/xcom/return.json`); `options.output` types and checks it.
   * @example
   * p.pod('count', { needs: ['extract'], output: z.object({ count: z.number() }) },
   *   ({ extract }) => ({ image: 'alpine:3.20', command: ['sh', '-c', `echo '{"count":${extract.rows}}' > $PODLINE_XCOM_PATH`] }))
   */
  pod<
    const N extends string,
    const Needs extends readonly Tasks['name'][] = [],
    S extends AnySchema | undefined = undefined,
    const Rule extends TriggerRule = 'all_success',
    const Skip extends PodRunOptions['skipOnExitCode'] = undefined,
    const P extends ProducedAssets | undefined = undefined,
  >(
    name: N & ValidTaskName<N, Tasks>,
    options: PodTaskOptions<Needs, S, Rule, Skip, Params, InputsFor<Tasks, Needs, Rule>, P>,
    spec: (
      | PodSpec
      | ((
          inputs: InputsFor<Tasks, Needs, Rule>,
          ctx: PodSpecContext<Params, Needs[number], Assets>,
        ) => Awaitable<PodSpec>)
    ) &
      ProducesCheck<S extends AnySchema ? SchemaOutput<S> : JsonValue, P>,
  ): Pipeline<
    Params,
    ParamsInput,
    Tasks | TaskEntry<N, S extends AnySchema ? SchemaOutput<S> : JsonValue>,
    AddAbsent<Tasks, Absent, N, Needs, Rule, [Skip] extends [undefined] ? false : true>,
    Assets
  >

  /**
   * A mapped task: `over` returns a list from the inputs and `fn` runs once per element, each its
   * own task run (own attempts, retries, timeout, logs; `ctx.mapIndex` is its index). Downstream
   * tasks receive the array of the items' outputs, in item order.
   * @example
   * p.map('count', { needs: ['list'], over: ({ list }) => list.files, maxParallel: 2 },
   *   async (file, _inputs, ctx) => ({ file, index: ctx.mapIndex }))
   */
  map<
    const N extends string,
    Items extends readonly unknown[] | PodlineTypeError<OverNotArray>,
    R,
    const Needs extends readonly Tasks['name'][] = [],
    const Rule extends TriggerRule = 'all_success',
  >(
    name: N & ValidTaskName<N, Tasks>,
    options: MapTaskOptions<Needs, Rule, InputsFor<Tasks, Needs, Rule>, Items, Params>,
    fn: ((
      item: ItemOf<Items>,
      inputs: InputsFor<Tasks, Needs, Rule>,
      ctx: TaskContext<Params, Assets>,
    ) => R) &
      JsonResult<R>,
  ): Pipeline<
    Params,
    ParamsInput,
    Tasks | TaskEntry<N, Awaited<R>[]>,
    AddAbsent<Tasks, Absent, N, Needs, Rule>,
    Assets
  >

  /**
   * A mapped pod task: one pod per element of what `over` returns, each named with its index.
   * Downstream tasks receive the array of the pods' outputs, in item order.
   * @example
   * p.mapPod('score', { needs: ['list'], over: ({ list }) => list.files, output: z.object({ score: z.number() }) },
   *   (file) => ({ image: 'python:3.12-slim', command: ['python', 'score.py', file] }))
   */
  mapPod<
    const N extends string,
    Items extends readonly unknown[] | PodlineTypeError<OverNotArray>,
    const Needs extends readonly Tasks['name'][] = [],
    S extends AnySchema | undefined = undefined,
    const Rule extends TriggerRule = 'all_success',
  >(
    name: N & ValidTaskName<N, Tasks>,
    options: MapPodTaskOptions<Needs, S, Rule, InputsFor<Tasks, Needs, Rule>, Items, Params>,
    spec: (
      item: ItemOf<Items>,
      inputs: InputsFor<Tasks, Needs, Rule>,
      ctx: PodSpecContext<Params, Needs[number], Assets>,
    ) => Awaitable<PodSpec>,
  ): Pipeline<
    Params,
    ParamsInput,
    Tasks | TaskEntry<N, (S extends AnySchema ? SchemaOutput<S> : JsonValue)[]>,
    AddAbsent<Tasks, Absent, N, Needs, Rule>,
    Assets
  >

  /**
   * A step that waits, holding no worker slot: for a signal (`podline signal <run> <name> --json
   * '{…}'`, the UI, the JSON API), whose payload, checked by `signal`, is its output; or, with
   * `sleep`, for a time. `timeout` fails a step still waiting.
   * @example
   * p.wait('approval', { needs: ['report'], signal: z.object({ approved: z.boolean(), by: z.string() }), timeout: '2d' })
   *   .task('publish', { needs: ['approval'] }, ({ approval }) => approval.approved)
   */
  wait<
    const N extends string,
    const Needs extends readonly Tasks['name'][] = [],
    S extends AnySchema | undefined = undefined,
    const Rule extends TriggerRule = 'all_success',
  >(
    name: N & ValidTaskName<N, Tasks>,
    options: WaitOptions<Needs, S, Rule>,
  ): Pipeline<
    Params,
    ParamsInput,
    Tasks | TaskEntry<N, S extends AnySchema ? SchemaOutput<S> : null>,
    AddAbsent<Tasks, Absent, N, Needs, Rule>,
    Assets
  >

  /** The structure as JSON, with a version hash that changes exactly when the structure does. */
  plan(): PipelinePlan
}

/** Any pipeline, whatever its types: what the runner and the CLI accept. */
// biome-ignore lint/suspicious/noExplicitAny: the widest pipeline type must accept every Params/Outputs.
export type AnyPipeline = Pipeline<any, any, any, any, any>
export type ParamsOf<P> =
  NonNullable<P extends { '~types'?: infer T } ? T : never> extends PipelineTypes<
    infer Params,
    unknown,
    TaskEntry,
    string
  >
    ? Params
    : never
export type ParamsInputOf<P> =
  NonNullable<P extends { '~types'?: infer T } ? T : never> extends PipelineTypes<
    unknown,
    infer I,
    TaskEntry,
    string
  >
    ? I
    : never
/** The task entries of a pipeline type (see {@link TaskEntry}). */
export type TasksOf<P> =
  NonNullable<P extends { '~types'?: infer T } ? T : never> extends PipelineTypes<
    unknown,
    unknown,
    infer Tasks,
    string
  >
    ? Tasks
    : never
/** Every task's output type, keyed by task name. */
export type OutputsOf<P> = OutputMap<TasksOf<P>>
/**
 * What a successful run of `P` yields: every task's output, with the tasks that a successful run
 * can lack (skipped, or failed under a tolerant trigger rule downstream) as optional members.
 */
export type RunOutputsOf<P> = RunOutputs<TasksOf<P>, AbsentOf<P>>
type AbsentOf<P> =
  NonNullable<P extends { '~types'?: infer T } ? T : never> extends PipelineTypes<
    unknown,
    unknown,
    TaskEntry,
    infer A
  >
    ? A
    : never

const PIPELINE_BRAND = Symbol.for('podline.pipeline')

/** True for values built by {@link pipeline}, even across copies of this package. */
export function isPipeline(value: unknown): value is AnyPipeline {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PIPELINE_BRAND] === true
  )
}

export class PipelineDefinitionError extends Error {
  override readonly name = 'PipelineDefinitionError'
}

/**
 * Starts a pipeline.
 * @example
 * const p = pipeline('nightly-etl', { params: z.object({ date: z.string() }) })
 *   .task('extract', async (_in, { params }) => ({ uri: `s3://raw/${params.date}.csv` }))
 */
export function pipeline<
  const S extends AnySchema | undefined = undefined,
  const On extends AssetTrigger | undefined = undefined,
>(
  name: string,
  options: PipelineOptions<S, On> = {},
): Pipeline<
  S extends AnySchema ? SchemaOutput<S> : Record<string, never>,
  S extends AnySchema ? SchemaInput<S> : Record<string, never> | undefined,
  never,
  never,
  AssetsContext<Exclude<On, undefined>>
> {
  assertValidName('pipeline', name)
  const schedule = options.schedule === undefined ? undefined : resolveSchedule(name, options.schedule)
  const { maxActiveRuns } = options
  if (maxActiveRuns !== undefined && (!Number.isInteger(maxActiveRuns) || maxActiveRuns < 1))
    throw new PipelineDefinitionError(
      `pipeline "${name}": maxActiveRuns must be a positive integer, got ${String(maxActiveRuns)}; leave it out for no limit`,
    )
  const problem = options.concurrency === undefined ? undefined : concurrencyProblem(options.concurrency)
  if (problem) throw new PipelineDefinitionError(`pipeline "${name}": ${problem}`)
  const concurrency: ResolvedConcurrency | undefined =
    options.concurrency &&
    Object.freeze({
      key: options.concurrency.key as ResolvedConcurrency['key'],
      limit: options.concurrency.limit ?? 1,
    })
  const callbacks: Record<string, unknown> = {}
  for (const key of Object.values(CALLBACK_OPTION)) {
    const callback = options[key]
    if (callback === undefined) continue
    if (typeof callback !== 'function')
      throw new PipelineDefinitionError(
        `pipeline "${name}": ${key} must be a function of the run, e.g. ${key}: async (run) => notify(run.runId)`,
      )
    callbacks[key] = callback
  }
  const deadline = options.deadline && resolveDeadline(name, options.deadline)
  const on = options.on
  if (on !== undefined && !isAsset(on) && !(typeof on === 'object' && on !== null && 'mode' in on))
    throw new PipelineDefinitionError(
      `pipeline "${name}": on takes an asset made with asset(name, schema), or all(…) / any(…) of assets`,
    )
  if (callbacks.onDeadline && !deadline)
    throw new PipelineDefinitionError(
      `pipeline "${name}": onDeadline needs a deadline, e.g. deadline: { after: '2h', from: 'logicalDate' }`,
    )
  return createPipeline(
    {
      name,
      paramsSchema: options.params,
      userVersion: options.version,
      schedule,
      maxActiveRuns,
      concurrency,
      callbacks: Object.freeze(callbacks) as ResolvedCallbacks,
      deadline,
      on,
    },
    [],
  )
}

interface PipelineSettings {
  name: string
  paramsSchema: AnySchema | undefined
  userVersion: string | undefined
  schedule: ResolvedSchedule | undefined
  maxActiveRuns: number | undefined
  concurrency: ResolvedConcurrency | undefined
  callbacks: ResolvedCallbacks
  deadline: PlanDeadline | undefined
  on: AssetTrigger | undefined
}

/** The deadline option, checked: a positive duration from 'queued' or 'logicalDate'. */
function resolveDeadline(pipeline: string, options: DeadlineOptions): PlanDeadline {
  const from = options.from ?? 'queued'
  if (from !== 'queued' && from !== 'logicalDate')
    throw new PipelineDefinitionError(
      `pipeline "${pipeline}": deadline.from must be 'queued' or 'logicalDate', got ${JSON.stringify(from)}`,
    )
  let afterMs: number
  try {
    afterMs = parseDuration(options.after, `pipeline "${pipeline}": deadline.after`)
  } catch (error) {
    throw new PipelineDefinitionError((error as Error).message)
  }
  if (afterMs <= 0)
    throw new PipelineDefinitionError(`pipeline "${pipeline}": deadline.after must be more than 0, e.g. '2h'`)
  return { afterMs, from }
}

function createPipeline(
  settings: PipelineSettings,
  tasks: readonly TaskDefinition[],
  // biome-ignore lint/suspicious/noExplicitAny: the public interface carries the types; this is the untyped core.
): any {
  const { name, paramsSchema, userVersion, schedule, maxActiveRuns, concurrency, callbacks, deadline, on } =
    settings
  let plan: PipelinePlan | undefined
  const add = (def: TaskDefinition) => createPipeline(settings, Object.freeze([...tasks, def]))
  const checkTask = (taskName: unknown, options: object, known: readonly string[]) => {
    assertValidName('task', taskName)
    const unknown = Object.keys(options).filter((key) => !known.includes(key))
    if (unknown.length > 0) {
      throw new PipelineDefinitionError(
        `task "${taskName}": unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}; ` +
          `the options are ${known.join(', ')}`,
      )
    }
    const needs = (options as TaskOptions).needs
    if (tasks.some((t) => t.name === taskName)) {
      throw new PipelineDefinitionError(
        `pipeline "${name}": a task named "${taskName}" already exists; task names must be unique`,
      )
    }
    if (needs !== undefined && !Array.isArray(needs)) {
      throw new PipelineDefinitionError(`task "${taskName}": needs must be an array of task names`)
    }
    for (const need of (needs ?? []) as unknown[]) {
      if (!tasks.some((t) => t.name === need)) {
        throw new PipelineDefinitionError(
          `task "${taskName}" needs "${String(need)}", which is not defined before it in pipeline "${name}"` +
            ` (defined so far: ${tasks.map((t) => t.name).join(', ') || 'none'}); declare a task before the tasks that need it`,
        )
      }
    }
    return [...new Set((needs ?? []) as string[])]
  }
  return Object.freeze({
    [PIPELINE_BRAND]: true,
    name,
    paramsSchema,
    schedule,
    concurrency,
    callbacks,
    tasks,
    on,
    task(taskName: string, optionsOrFn: unknown, maybeFn?: unknown) {
      const [options, fn] =
        typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn ?? {}, maybeFn]
      if (typeof fn !== 'function')
        throw new PipelineDefinitionError(`task "${taskName}": the last argument must be the task function`)
      if (typeof options !== 'object' || options === null)
        throw new PipelineDefinitionError(`task "${taskName}": options must be an object`)
      const needs = checkTask(taskName, options, TASK_OPTION_KEYS)
      const [callbacks, taskOptions] = takeTaskCallbacks(taskName, options as TaskOptions)
      const def: InlineTaskDefinition = Object.freeze({
        kind: 'task',
        name: taskName,
        needs,
        options: resolveTaskOptions(taskName, taskOptions),
        ...callbacks,
        ...taskComputedOf(taskOptions),
        ...producesOf(taskName, taskOptions),
        ...cacheKeyFunction(taskOptions),
        run: (inputs: Record<string, unknown>, ctx: TaskContext<unknown>) =>
          fn(guardInputs(taskName, needs, inputs), ctx),
      })
      return add(def)
    },
    pod(taskName: string, options: PodTaskOptions<readonly string[], AnySchema | undefined>, spec: unknown) {
      if (typeof options !== 'object' || options === null)
        throw new PipelineDefinitionError(`pod "${taskName}": options must be an object`)
      if (
        typeof spec !== 'function' &&
        (typeof spec !== 'object' || spec === null || typeof (spec as PodSpec).image !== 'string')
      ) {
        throw new PipelineDefinitionError(
          `pod "${taskName}": the spec must be an object with an image, or a function returning one`,
        )
      }
      const needs = checkTask(taskName, options, [...TASK_OPTION_KEYS, ...POD_OPTION_KEYS])
      const [callbacks, withoutCallbacks] = takeTaskCallbacks(taskName, options)
      const { output, ...rest } = withoutCallbacks
      const [taskOptions, run] = splitTaskOptions(rest)
      const def: PodTaskDefinition = Object.freeze({
        kind: 'pod',
        name: taskName,
        needs,
        options: resolveTaskOptions(taskName, taskOptions),
        ...callbacks,
        ...taskComputedOf(taskOptions),
        ...producesOf(taskName, taskOptions),
        ...cacheKeyFunction(taskOptions),
        spec:
          typeof spec === 'function'
            ? (inputs: Record<string, unknown>, ctx: PodSpecContext<unknown>) =>
                spec(guardInputs(taskName, needs, inputs), ctx)
            : (spec as PodSpec),
        output,
        pod: run,
      })
      return add(def)
    },
    wait(taskName: string, options: WaitOptions) {
      if (typeof options !== 'object' || options === null)
        throw new PipelineDefinitionError(`wait "${taskName}": options must be an object`)
      const needs = checkTask(taskName, options, WAIT_OPTION_KEYS)
      const { signal, sleep, timeout, triggerRule } = options
      if ((signal === undefined) === (sleep === undefined))
        throw new PipelineDefinitionError(
          `wait "${taskName}": give either signal (a schema of the payload it waits for) or sleep (a duration), not ${signal === undefined ? 'neither' : 'both'}`,
        )
      if (sleep !== undefined && timeout !== undefined)
        throw new PipelineDefinitionError(`wait "${taskName}": a sleep ends by itself; leave timeout out`)
      if (signal !== undefined) {
        const converted = jsonSchemaOf(signal)
        if ('problem' in converted)
          throw new PipelineDefinitionError(`wait "${taskName}": ${converted.problem}`)
      }
      let sleepMs: number | undefined
      try {
        sleepMs = sleep === undefined ? undefined : parseDuration(sleep, `wait "${taskName}": sleep`)
      } catch (error) {
        throw new PipelineDefinitionError((error as Error).message)
      }
      const def: WaitTaskDefinition = Object.freeze({
        kind: 'wait',
        name: taskName,
        needs,
        options: resolveTaskOptions(taskName, {
          ...(timeout === undefined ? {} : { timeout }),
          ...(triggerRule === undefined ? {} : { triggerRule }),
        }),
        signal,
        sleepMs,
      })
      return add(def)
    },
    map(taskName: string, options: MapTaskOptions, fn: unknown) {
      if (typeof options !== 'object' || options === null)
        throw new PipelineDefinitionError(`map "${taskName}": options must be an object`)
      if (typeof fn !== 'function')
        throw new PipelineDefinitionError(`map "${taskName}": the last argument must be the task function`)
      const needs = checkTask(taskName, options, [...TASK_OPTION_KEYS, ...MAP_OPTION_KEYS])
      const [callbacks, withoutCallbacks] = takeTaskCallbacks(taskName, options)
      const { over, maxParallel, ...taskOptions } = withoutCallbacks
      const def: InlineTaskDefinition = Object.freeze({
        kind: 'task',
        name: taskName,
        needs,
        options: resolveTaskOptions(taskName, taskOptions),
        ...callbacks,
        ...taskComputedOf(taskOptions),
        map: mapDefinition(taskName, needs, options),
        run: (inputs: Record<string, unknown>, ctx: TaskContext<unknown>, item?: unknown) =>
          fn(item, guardInputs(taskName, needs, inputs), ctx),
      })
      return add(def)
    },
    mapPod(taskName: string, options: MapPodTaskOptions, spec: unknown) {
      if (typeof options !== 'object' || options === null)
        throw new PipelineDefinitionError(`mapPod "${taskName}": options must be an object`)
      if (typeof spec !== 'function')
        throw new PipelineDefinitionError(
          `mapPod "${taskName}": the last argument must be a function from the item to the pod spec, such as (file) => ({ image: 'alpine:3.20', command: ['wc', file] })`,
        )
      const podKeys = POD_OPTION_KEYS.filter((k) => k !== 'skipOnExitCode')
      const needs = checkTask(taskName, options, [...TASK_OPTION_KEYS, ...MAP_OPTION_KEYS, ...podKeys])
      const [callbacks, withoutCallbacks] = takeTaskCallbacks(taskName, options)
      const { output, over, maxParallel, ...rest } = withoutCallbacks
      const [taskOptions, run] = splitTaskOptions(rest)
      const def: PodTaskDefinition = Object.freeze({
        kind: 'pod',
        name: taskName,
        needs,
        options: resolveTaskOptions(taskName, taskOptions),
        ...callbacks,
        ...taskComputedOf(taskOptions),
        map: mapDefinition(taskName, needs, options),
        spec: (inputs: Record<string, unknown>, ctx: PodSpecContext<unknown>, item?: unknown) =>
          spec(item, guardInputs(taskName, needs, inputs), ctx),
        output,
        pod: run,
      })
      return add(def)
    },
    plan() {
      plan ??= buildPlan(
        name,
        tasks,
        paramsSchema !== undefined,
        userVersion,
        paramsJsonSchemaOf(paramsSchema),
        {
          schedule: schedule && planSchedule(schedule),
          maxActiveRuns,
          ...(concurrency ? { concurrency: { limit: concurrency.limit } } : {}),
          callbacks: callbackEvents(callbacks),
          deadline,
          on: on && { mode: isAsset(on) ? 'any' : on.mode, assets: assetsOf(on).map((a) => a.name) },
          assets: declaredAssets(name, on, tasks),
        },
      )
      return structuredClone(plan)
    },
  })
}

/**
 * A task's callbacks (onFailure, onSuccess, onRetry), each checked to be a function, and the other
 * options; `{ callbacks }` only when it has one, so a definition without them stays as it was.
 */
function takeTaskCallbacks<O extends object>(
  taskName: string,
  options: O,
): [{ callbacks?: ResolvedTaskCallbacks }, O] {
  const callbacks: Record<string, unknown> = {}
  const rest: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) {
    if (!(TASK_CALLBACK_KEYS as readonly string[]).includes(key)) rest[key] = value
    else if (value === undefined) continue
    else if (typeof value !== 'function')
      throw new PipelineDefinitionError(
        `task "${taskName}": ${key} must be a function of the task's attempt, e.g. ${key}: async (task) => notify(task.error)`,
      )
    else callbacks[key] = value
  }
  return [Object.keys(callbacks).length > 0 ? { callbacks: Object.freeze(callbacks) } : {}, rest as O]
}

/** A pod task's options: the task's own (TASK_OPTION_KEYS, which resolveTaskOptions reads) and the pod's. */
function splitTaskOptions(options: object): [TaskOptions, PodRunOptions] {
  const task: Record<string, unknown> = {}
  const pod: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options))
    ((TASK_OPTION_KEYS as readonly string[]).includes(key) ? task : pod)[key] = value
  return [task as TaskOptions, pod as PodRunOptions]
}

/** A mapped task's `over` and `maxParallel`, checked, and the task options a mapped task refuses. */
function mapDefinition(
  taskName: string,
  needs: readonly string[],
  options: { over?: unknown; maxParallel?: unknown; produces?: unknown; cache?: unknown },
): MapDefinition {
  const { over, maxParallel, produces, cache } = options
  if (cache !== undefined)
    throw new PipelineDefinitionError(
      `mapped task "${taskName}": a mapped task has no cache; cache the tasks it needs, or the task that needs it`,
    )
  if (produces !== undefined)
    throw new PipelineDefinitionError(
      `mapped task "${taskName}": a mapped task does not produce assets; produce it from a task that needs "${taskName}" (it receives the items' outputs as one array)`,
    )
  if (typeof over !== 'function')
    throw new PipelineDefinitionError(
      `mapped task "${taskName}": over must be a function from the inputs to the items, such as ({ list }) => list.files`,
    )
  if (maxParallel !== undefined && (!Number.isInteger(maxParallel) || (maxParallel as number) < 1))
    throw new PipelineDefinitionError(
      `mapped task "${taskName}": maxParallel must be a positive integer, got ${String(maxParallel)}; leave it out for no bound`,
    )
  return Object.freeze({
    over: (inputs: Record<string, unknown>) => over(guardInputs(taskName, needs, inputs)),
    maxParallel: maxParallel as number | undefined,
  })
}

/** A task's cache key function, when it has one (the rest of the cache option is resolved into its options). */
function cacheKeyFunction(options: TaskOptions): { cacheKey?: NonNullable<TaskDefinition['cacheKey']> } {
  const key = options.cache?.key
  return typeof key === 'function' ? { cacheKey: key as NonNullable<TaskDefinition['cacheKey']> } : {}
}

/** A task's `produces`, checked: `{ produces }` as a list only when it has some. */
function producesOf(taskName: string, options: TaskOptions): { produces?: readonly AnyAsset[] } {
  const { produces } = options
  if (produces === undefined) return {}
  const list = Array.isArray(produces) ? produces : [produces]
  if (list.length === 0 || !list.every(isAsset))
    throw new PipelineDefinitionError(
      `task "${taskName}": produces takes an asset made with asset(name, schema), or a list of them`,
    )
  return { produces: Object.freeze([...list]) }
}

/**
 * Every asset the pipeline declares (its `on`, its tasks' `produces`) with its schema's hash and
 * JSON Schema, for the plan: one name declared with two schemas in one pipeline is refused here,
 * across pipelines when a worker registers them.
 */
function declaredAssets(
  pipeline: string,
  on: AssetTrigger | undefined,
  tasks: readonly TaskDefinition[],
): PipelinePlan['assets'] {
  const all = [...(on ? assetsOf(on) : []), ...tasks.flatMap((t) => t.produces ?? [])]
  if (all.length === 0) return undefined
  const declared: NonNullable<PipelinePlan['assets']> = {}
  for (const a of all) {
    const seen = declared[a.name]
    if (seen && seen.schemaHash !== a.schemaHash)
      throw new AssetDefinitionError(
        `pipeline "${pipeline}" declares asset "${a.name}" with two different schemas; define the asset once, in a module its producers and consumers import`,
      )
    declared[a.name] = { schemaHash: a.schemaHash, jsonSchema: a.jsonSchema }
  }
  return declared
}

/** The params' input JSON Schema, when the schema library implements Standard JSON Schema. */
function paramsJsonSchemaOf(schema: AnySchema | undefined): Record<string, unknown> | undefined {
  const converter = (schema?.['~standard'] as { jsonSchema?: StandardJSONSchemaV1.Converter } | undefined)
    ?.jsonSchema
  try {
    return converter?.input({ target: 'draft-2020-12' })
  } catch {
    // Some schemas (transforms, custom checks) have no JSON Schema: the worker still validates.
    return undefined
  }
}
