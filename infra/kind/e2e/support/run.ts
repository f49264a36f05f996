import { join } from 'node:path'
import type { AttemptEvent, StoreOptions, XComStorageOptions } from '@podline/runner'
import { openStore, runLocal, taskLogLines, taskXcoms } from '@podline/runner'
import type { AnyPipeline, RunOutputsOf } from '@podline/sdk'
import type { E2eCluster } from './cluster.js'

/** What one run of a pipeline on the cluster left: its outcome, its attempts and its stored log. */
export interface ClusterRun<P extends AnyPipeline> {
  runId: string
  /** The outputs when the run succeeded; otherwise `error` is runLocal's rejection. */
  outputs: RunOutputsOf<P> | undefined
  error: Error | undefined
  attempts: AttemptEvent[]
  /** The task log as stored, in order: what `podline logs` shows. */
  logs: { task: string; attempt: number; message: string }[]
  /** Every XCom of the run as its row holds it: a value in the XCom store as its reference. */
  xcoms: { task: string; key: string; value: unknown }[]
}

export interface ClusterRunOptions {
  /** Folder of the run's embedded store (one per pipeline under it; see `runStore`). */
  dataDir: string
  namespace: string
  /** Another kubeconfig than the admin's (the worker ServiceAccount's). */
  kubeconfig?: string
  /** An XCom store for the run's large values, as runLocal takes it. */
  xcoms?: XComStorageOptions
  /** The run's params (none: the schema's defaults). */
  params?: Record<string, unknown>
}

/**
 * Where a run of pipeline `name` keeps its rows: an embedded store of its own under `dataDir`; on
 * the double, the file's fresh database when it has one (`probeCluster({ database: true })`), since
 * opening an embedded store takes longer there than most of its pods run.
 */
export function runStore(cluster: E2eCluster, dataDir: string, name: string): StoreOptions {
  return cluster.kind === 'double' && cluster.databaseUrl
    ? { databaseUrl: cluster.databaseUrl }
    : { dataDir: join(dataDir, name) }
}

/**
 * runLocal on an embedded store with the pods on the e2e cluster, keeping the store open afterwards
 * to read back what was stored: the attempts, every log line and every XCom of the run.
 */
export async function runOnCluster<P extends AnyPipeline>(
  cluster: E2eCluster,
  p: P,
  options: ClusterRunOptions,
): Promise<ClusterRun<P>> {
  const store = await openStore(runStore(cluster, options.dataDir, p.name))
  const attempts: AttemptEvent[] = []
  let runId = ''
  try {
    const any: AnyPipeline = p
    let outputs: RunOutputsOf<P> | undefined
    let error: Error | undefined
    try {
      outputs = (await runLocal(any, options.params ?? {}, {
        database: store.database,
        ...options.xcoms,
        runtime: 'kubernetes',
        kube: {
          kubeconfig: options.kubeconfig ?? cluster.kubeconfig,
          context: options.kubeconfig ? undefined : cluster.context,
          namespace: options.namespace,
        },
        // Tasks that name no sidecar image get the shell image, which the cluster has.
        sidecarImage: cluster.shellImage,
        onRun: (id) => {
          runId = id
        },
        onAttempt: (event) => attempts.push(event),
      })) as RunOutputsOf<P>
    } catch (e) {
      error = e as Error
    }
    const rows = runId ? await taskLogLines(store.database, runId) : []
    const logs = rows.map((r) => ({ task: r.task, attempt: r.attempt, message: r.message }))
    const xcoms: ClusterRun<P>['xcoms'] = []
    for (const { name } of runId ? any.tasks : []) {
      for (const x of await taskXcoms(store.database, runId, name))
        xcoms.push({ task: name, key: x.key, value: x.value })
    }
    return { runId, outputs, error, attempts, logs, xcoms }
  } finally {
    await store.close()
  }
}

/** The lines a pod's `base` printed, as the task log stored them (`[<task>] <line>`), in order. */
export function podLines(run: ClusterRun<AnyPipeline>, task: string): string[] {
  const prefix = `[${task}] `
  return run.logs
    .filter((l) => l.task === task && l.message.startsWith(prefix))
    .map((l) => l.message.slice(prefix.length))
}

/**
 * Where `actual` first differs from `expected`, or undefined: a readable assertion for 50,000 lines
 * (a diff of two such arrays would drown the report).
 */
export function firstDifference(actual: readonly string[], expected: readonly string[]): string | undefined {
  const n = Math.max(actual.length, expected.length)
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i])
      return `line ${i + 1} of ${expected.length}: expected ${JSON.stringify(expected[i])}, stored ${JSON.stringify(actual[i])} (${actual.length} lines stored)`
  }
  return undefined
}
