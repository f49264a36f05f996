import { join } from 'node:path'
import type { AttemptEvent } from '@podline/runner'
import { openStore, runLocal, taskLogLines } from '@podline/runner'
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
}

export interface ClusterRunOptions {
  /** Folder of the run's embedded store (one per pipeline under it). */
  dataDir: string
  namespace: string
  /** Another kubeconfig than the admin's (the worker ServiceAccount's). */
  kubeconfig?: string
}

/**
 * runLocal on an embedded store with the pods on the e2e cluster, keeping the store open afterwards
 * to read back what was stored: the attempts and every log line of the run.
 */
export async function runOnCluster<P extends AnyPipeline>(
  cluster: E2eCluster,
  p: P,
  options: ClusterRunOptions,
): Promise<ClusterRun<P>> {
  const store = await openStore({ dataDir: join(options.dataDir, p.name) })
  const attempts: AttemptEvent[] = []
  let runId = ''
  try {
    const any: AnyPipeline = p
    let outputs: RunOutputsOf<P> | undefined
    let error: Error | undefined
    try {
      outputs = (await runLocal(
        any,
        {},
        {
          database: store.database,
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
        },
      )) as RunOutputsOf<P>
    } catch (e) {
      error = e as Error
    }
    const rows = runId ? await taskLogLines(store.database, runId) : []
    const logs = rows.map((r) => ({ task: r.task, attempt: r.attempt, message: r.message }))
    return { runId, outputs, error, attempts, logs }
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
