// Pure-JS SHA-256, as plan.ts: the SDK loads in a browser and a plan is built synchronously.
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { canonicalJson, jsonSchemaOf } from './plan.js'
import type { AnySchema, SchemaInput, SchemaOutput } from './schema.js'
import type { PodlineTypeError } from './type-error.js'

/**
 * Asset names are how producers and consumers in different files, processes and deployments find
 * each other, and what `podline assets emit` takes: lowercase, with '.', '/' and '-' to build
 * namespaces such as `warehouse.orders` or `s3/raw/orders`.
 */
export const ASSET_NAME_PATTERN = /^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?$/
export const MAX_ASSET_NAME_LENGTH = 200

const ASSET_BRAND = Symbol.for('podline.asset')

export class AssetDefinitionError extends Error {
  override readonly name = 'AssetDefinitionError'
}

/**
 * A typed piece of data that pipelines produce and consume (Airflow's assets, Dagster's assets):
 * define it once, in a module the producing and the consuming pipelines both import.
 */
export interface Asset<N extends string = string, Value = unknown, Input = Value> {
  readonly [ASSET_BRAND]: true
  readonly name: N
  /** Checks every event's value: a producer's output, an emitted payload. */
  readonly schema: AnySchema
  /** The value's JSON Schema (draft 2020-12, of its input): what code without the pipeline checks with. */
  readonly jsonSchema: Record<string, unknown>
  /** A hash of the JSON Schema: two declarations of one asset name must agree on it. */
  readonly schemaHash: string
  /** Type-level only: never present at run time. */
  readonly '~types'?: { readonly value: Value; readonly input: Input }
}

/** Any asset, whatever its name and value type. */
// biome-ignore lint/suspicious/noExplicitAny: the widest asset; `unknown` would reject every typed one (variance of Input).
export type AnyAsset = Asset<string, any, any>

/** A set of assets a pipeline runs on: `all` of them updated since its last run, or `any` one (one run per event). */
export interface AssetCondition<
  Mode extends 'all' | 'any' = 'all' | 'any',
  A extends readonly AnyAsset[] = readonly AnyAsset[],
> {
  readonly mode: Mode
  readonly assets: A
}

/** What a pipeline's `on` takes: one asset (one run per event), or a condition over several. */
export type AssetTrigger = AnyAsset | AssetCondition

/** One recorded update of an asset, as a consumer's tasks read it (`ctx.assets.orders`). */
export interface AssetEvent<Value> {
  /** The event's id: events of all assets are numbered in one sequence. */
  readonly id: string
  /** The value, through the asset's schema. */
  readonly value: Value
  /** When it was recorded (the database's clock). */
  readonly createdAt: Date
  /** The task run whose success recorded it; null for an event emitted from outside (`podline assets emit`, the API). */
  readonly producer: { readonly pipeline: string; readonly runId: string; readonly task: string } | null
}

/**
 * Defines an asset: its name and the schema of its value. A task that `produces` it must return a
 * value of that type; a pipeline `on` it runs once per event, its tasks reading the event typed.
 * The schema must have a JSON Schema (zod 4, arktype, valibot with its converter): `podline assets
 * emit` checks with it, and two pipelines declaring one name with different schemas are refused.
 * @example
 * export const orders = asset('warehouse.orders', z.object({ date: z.string(), rows: z.number() }))
 */
export function asset<const N extends string, S extends AnySchema>(
  name: N & CheckAssetName<N>,
  schema: S,
): Asset<N, SchemaOutput<S>, SchemaInput<S>> {
  const problem = assetNameProblem(name)
  if (problem) throw new AssetDefinitionError(problem)
  if (typeof schema !== 'object' || schema === null || !('~standard' in schema))
    throw new AssetDefinitionError(
      `asset "${name}": the second argument must be a Standard Schema of its value, e.g. z.object({ rows: z.number() })`,
    )
  const converted = jsonSchemaOf(schema, 'asset')
  if ('problem' in converted) throw new AssetDefinitionError(`asset "${name}": ${converted.problem}`)
  return Object.freeze({
    [ASSET_BRAND]: true as const,
    name,
    schema,
    jsonSchema: converted.schema,
    schemaHash: bytesToHex(sha256(utf8ToBytes(canonicalJson(converted.schema)))).slice(0, 16),
  })
}

/** Runs a pipeline once every asset given has been updated since its last run (Airflow's `&`). */
export function all<const A extends readonly AnyAsset[]>(...assets: A): AssetCondition<'all', A> {
  return condition('all', assets)
}

/** Runs a pipeline once for each event of any of the assets given (Airflow's `|`). */
export function any<const A extends readonly AnyAsset[]>(...assets: A): AssetCondition<'any', A> {
  return condition('any', assets)
}

function condition<Mode extends 'all' | 'any', A extends readonly AnyAsset[]>(
  mode: Mode,
  assets: A,
): AssetCondition<Mode, A> {
  if (assets.length === 0 || !assets.every(isAsset))
    throw new AssetDefinitionError(`${mode}(…) takes one or more assets made with asset(name, schema)`)
  const names = assets.map((a) => a.name)
  const twice = names.find((n, i) => names.indexOf(n) !== i)
  if (twice) throw new AssetDefinitionError(`${mode}(…) names asset "${twice}" twice`)
  return Object.freeze({ mode, assets: Object.freeze([...assets]) as unknown as A })
}

export function isAsset(value: unknown): value is AnyAsset {
  return typeof value === 'object' && value !== null && ASSET_BRAND in value
}

export function assetNameProblem(name: unknown): string | undefined {
  const rule = `an asset name is 1-${MAX_ASSET_NAME_LENGTH} characters of lowercase letters, digits, '.', '/' and '-', starting and ending with a letter or digit, e.g. "warehouse.orders"`
  if (typeof name !== 'string') return `asset name must be a string; ${rule}`
  if (name.length === 0 || name.length > MAX_ASSET_NAME_LENGTH || !ASSET_NAME_PATTERN.test(name))
    return `invalid asset name ${JSON.stringify(name)}: ${rule}`
  return undefined
}

/** A cheap compile-time view of ASSET_NAME_PATTERN: capitals and the characters most often mistyped. */
type CheckAssetName<N extends string> = string extends N
  ? unknown
  : N extends ''
    ? PodlineTypeError<'an asset name must not be empty'>
    : N extends Lowercase<N>
      ? N extends `${string}${' ' | '_' | ':' | '@' | '#' | '*'}${string}`
        ? PodlineTypeError<`'${N}' is not a valid asset name: use lowercase letters, digits, '.', '/' and '-'`>
        : unknown
      : PodlineTypeError<`'${N}' is not a valid asset name: use lowercase letters (no capitals)`>

/** The assets of a trigger, as a list. */
export function assetsOf(trigger: AssetTrigger): readonly AnyAsset[] {
  return isAsset(trigger) ? [trigger] : trigger.assets
}

/** What a run's tasks receive as `ctx.assets` at run time, before the builder's types narrow it. */
export type RunAssets = Readonly<Record<string, AssetEvent<unknown>>>

/** The value type an asset's events carry. */
export type AssetValue<A> = A extends Asset<string, infer V, unknown> ? V : never
/** What a task producing the asset must return. */
type AssetInput<A> = A extends Asset<string, unknown, infer I> ? I : never

/** What `ctx.assets` holds in a pipeline triggered by `On`: one event per asset, optional under `any`. */
export type AssetsContext<On> = [On] extends [never]
  ? {}
  : On extends AnyAsset
    ? { readonly [K in On['name']]: AssetEvent<AssetValue<On>> }
    : On extends AssetCondition<'all', infer A>
      ? { readonly [E in A[number] as E['name']]: AssetEvent<AssetValue<E>> }
      : On extends AssetCondition<'any', infer A>
        ? { readonly [E in A[number] as E['name']]?: AssetEvent<AssetValue<E>> }
        : {}

/** The assets a task's `produces` names, as a union. */
type Produced<P> = P extends readonly (infer A)[] ? A : P

/** What an output must be to match every asset in `A` (a union): the intersection of their inputs. */
type InputOfEvery<A> = (A extends AnyAsset ? (input: AssetInput<A>) => void : never) extends (
  input: infer I,
) => void
  ? I
  : never

/**
 * What a task that produces `P` may return (its function's result, awaited or not): a value of every
 * asset's type. A constraint on the result rather than a check intersected into the function, so
 * that the compiler names the field that does not match, and so that a function with untyped
 * parameters still has its result inferred first.
 */
export type ProducedOutput<P> = [P] extends [undefined]
  ? unknown
  : InputOfEvery<Produced<P>> | Promise<InputOfEvery<Produced<P>>>

/**
 * `unknown` when a pod task's output (its `output` schema's) matches every asset it produces;
 * otherwise a readable error, intersected into the pod's spec.
 */
export type ProducesCheck<Out, P> = [P] extends [undefined]
  ? unknown
  : [Out] extends [InputOfEvery<Produced<P>>]
    ? unknown
    : PodlineTypeError<`the pod's output schema does not match the type of ${Produced<P> extends AnyAsset ? `asset '${Produced<P>['name']}'` : 'the assets'} it produces: declare output with the asset's schema (output: asset.schema)`>
