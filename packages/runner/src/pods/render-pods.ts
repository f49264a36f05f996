import type { V1Pod } from '@kubernetes/client-node'
import type { AnyPipeline, PodSpec, PodSpecContext, PodTaskDefinition, TaskLogger } from '@podline/sdk'
import { buildPod } from './pod-builder.js'
import { loadPodTemplate } from './pod-template.js'
import { symbolicInputs, symbolicValue } from './symbolic-inputs.js'
import { resolveSidecar, type SidecarMode } from './xcom-sidecar.js'

export interface RenderPodsOptions {
  /** Render only this task. */
  task?: string
  /** Namespace of pods whose spec names none. Default `default`. */
  namespace?: string
  /** The run id in names and labels. Default `plan`. */
  runId?: string
  /** The store id in names and labels. Default `plan`. */
  storeId?: string
  sidecarImage?: string
  sidecarMode?: SidecarMode
}

/** A pod task whose pod could not be rendered, and why (usually: its spec needs real upstream values). */
export interface UnrenderedPod {
  readonly task: string
  readonly reason: string
}

export interface RenderedPods {
  readonly pods: V1Pod[]
  readonly unrendered: UnrenderedPod[]
}

type StoredInputPlaceholder = Awaited<ReturnType<PodSpecContext<unknown>['inputUrl']>>

const quiet: TaskLogger = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * The pods a run would create (attempt 1), without creating anything: for `podline plan`. A dynamic
 * spec is called with symbolic inputs (see symbolicInputs): `{{ extract.uri }}` marks where an
 * upstream value goes. `params` are used as given. A spec that cannot be rendered without real
 * values (it parses a date out of an upstream output, say) is reported in `unrendered` with its
 * error, and every other pod is still rendered.
 * @example
 * const { pods, unrendered } = await renderPods(etl, { date: '2026-11-21' }, { namespace: 'etl' })
 */
export async function renderPods(
  pipeline: AnyPipeline,
  params: unknown,
  options: RenderPodsOptions = {},
): Promise<RenderedPods> {
  const pods = pipeline.tasks.filter((t): t is PodTaskDefinition => t.kind === 'pod')
  if (options.task !== undefined && !pods.some((t) => t.name === options.task)) {
    const names = pods.map((t) => t.name).join(', ') || 'none'
    throw new Error(`pipeline "${pipeline.name}" has no pod task "${options.task}" (pod tasks: ${names})`)
  }
  const runId = options.runId ?? 'plan'
  const rendered: V1Pod[] = []
  const unrendered: UnrenderedPod[] = []
  for (const def of pods.filter((t) => options.task === undefined || t.name === options.task)) {
    const ctx: PodSpecContext<unknown> = {
      // A placeholder, never a URL: a rendered pod shows where a stored input's location goes.
      inputUrl: async (task) => symbolicValue(`inputUrl(${task})`) as StoredInputPlaceholder,
      params,
      // No events when a pod is rendered without a run: a spec that reads one is reported unrendered.
      assets: {},
      signal: new AbortController().signal,
      runId,
      attempt: 1,
      pipeline: pipeline.name,
      task: def.name,
      log: quiet,
      schedule: undefined,
    }
    try {
      rendered.push(await renderOne(def, ctx, { ...options, runId }))
    } catch (error) {
      unrendered.push({ task: def.name, reason: error instanceof Error ? error.message : String(error) })
    }
  }
  return { pods: rendered, unrendered }
}

async function renderOne(
  def: PodTaskDefinition,
  ctx: PodSpecContext<unknown>,
  options: RenderPodsOptions & { runId: string },
): Promise<V1Pod> {
  // A mapped pod task is shown as its first item, the item itself a placeholder (`{{ item }}`).
  const item = def.map ? symbolicValue('item') : undefined
  const raw =
    typeof def.spec === 'function'
      ? await def.spec(symbolicInputs(def.needs), def.map ? { ...ctx, mapIndex: 0 } : ctx, item)
      : def.spec
  // A placeholder used as a whole value (`args: [extract.uri]`) is still a proxy: JSON turns it into its text.
  const spec = JSON.parse(JSON.stringify(raw)) as PodSpec
  const sidecar = resolveSidecar(def.pod, { image: options.sidecarImage, mode: options.sidecarMode })
  return buildPod({
    identity: {
      store: options.storeId ?? 'plan',
      pipeline: ctx.pipeline,
      runId: options.runId,
      task: def.name,
      attempt: 1,
      ...(def.map ? { mapIndex: 0 } : {}),
    },
    spec,
    run: def.pod,
    namespace: options.namespace ?? 'default',
    template: await loadPodTemplate(spec.podTemplate, def.name),
    sidecar,
  })
}
