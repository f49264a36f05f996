export type {
  AnyAsset,
  Asset,
  AssetCondition,
  AssetEvent,
  AssetsContext,
  AssetTrigger,
  AssetValue,
  RunAssets,
} from './asset.js'
export {
  AssetDefinitionError,
  all,
  any,
  asset,
  assetNameProblem,
  assetsOf,
  isAsset,
  MAX_ASSET_NAME_LENGTH,
} from './asset.js'
export type { CacheOptions, PlanCache } from './cache.js'
export { cacheKeyOf, MAX_CACHE_KEY_LENGTH } from './cache.js'
export type {
  CallbackContext,
  CallbackEvent,
  DeadlineCallback,
  DeadlineOptions,
  PlanDeadline,
  ResolvedCallbacks,
  ResolvedTaskCallbacks,
  RunCallback,
  RunCallbackEvent,
  RunEnded,
  RunPastDeadline,
  TaskCallback,
  TaskCallbackEvent,
  TaskCallbackOptions,
  TaskEnded,
} from './callbacks.js'
export {
  CALLBACK_MAX_TRIES,
  CALLBACK_OPTION,
  CALLBACK_TIMEOUT_MS,
  callbackLabel,
  isTaskCallbackEvent,
  RUN_CALLBACK_EVENTS,
  TASK_CALLBACK_EVENTS,
  TASK_CALLBACK_OPTION,
} from './callbacks.js'
export type { ConcurrencyOptions, ResolvedConcurrency, TaskComputed, TaskValues } from './concurrency.js'
export {
  concurrencyKeyOf,
  MAX_CONCURRENCY_KEY_LENGTH,
  MAX_PRIORITY,
  type TaskConcurrencyOptions,
  taskValuesFromInputs,
  taskValuesOf,
} from './concurrency.js'
export type { PodSpecContext, StoredInput, TaskContext, TaskLogger } from './context.js'
export { guardInputs, InputAccessError } from './inputs.js'
export { isMain } from './is-main.js'
export type { IsJson, JsonObject, JsonPrimitive, JsonValue, NotJsonIssue } from './json.js'
export { assertJson, findNotJson, NotJsonError } from './json.js'
export { assertValidName, InvalidNameError, MAX_NAME_LENGTH, NAME_PATTERN } from './names.js'
export type {
  AnyPipeline,
  InputsOf,
  MapPodTaskOptions,
  MapTaskOptions,
  OutputsOf,
  ParamsInputOf,
  ParamsOf,
  Pipeline,
  PipelineOptions,
  PipelineTypes,
  PodTaskOptions,
  RunOutputsOf,
  TasksOf,
  WaitOptions,
} from './pipeline-builder.js'
export { isPipeline, PipelineDefinitionError, pipeline } from './pipeline-builder.js'
export type { PipelinePlan, PlanTask } from './plan.js'
export { buildPlan, canonicalJson } from './plan.js'
export type * from './pod-spec.js'
export { MAX_POOL_NAME_LENGTH, POOL_NAME_PATTERN, poolNameProblem } from './pool.js'
export type { PlanSchedule, ResolvedSchedule, ScheduleOptions, ScheduleTick } from './schedule.js'
export { DEFAULT_MAX_CATCHUP, resolveSchedule, ScheduleDefinitionError } from './schedule.js'
export type { AnySchema, SchemaInput, SchemaOutput, StandardSchemaV1 } from './schema.js'
export { formatIssues, json, SchemaValidationError, validateWith } from './schema.js'
export type {
  InlineTaskDefinition,
  MapDefinition,
  PodTaskDefinition,
  TaskDefinition,
  WaitTaskDefinition,
} from './task-definition.js'
export type {
  Duration,
  ProducedAssets,
  ResolvedTaskOptions,
  RetryDelay,
  TaskOptions,
  TriggerRule,
} from './task-options.js'
export {
  MAP_OPTION_KEYS,
  parseDuration,
  resolveTaskOptions,
  retryDelayMs,
  TRIGGER_RULES,
} from './task-options.js'
export type { TaskEntry } from './task-types.js'
export type { PodlineTypeError } from './type-error.js'
