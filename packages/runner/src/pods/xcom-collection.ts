import type { JsonValue } from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import { callApi } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { execInPod } from './pod-exec.js'
import { parseXcomFrame, StoredFrame } from './xcom-frame.js'
import { SIDECAR_CONTAINER, type SidecarSettings, sidecarPidFile } from './xcom-sidecar.js'
import { decodeResult, type ResultChecks } from './xcom-value.js'

export interface PodRef {
  readonly namespace: string
  readonly pod: string
}

/**
 * Native mode: the sidecar has printed its frame and exited; read its log and check the frame. The
 * read is capped a little above what a value at the size limit needs, so an oversized value costs
 * the worker no more memory than the limit allows (the frame's header reports the real size).
 */
export async function readResultFromSidecarLog(
  kube: KubeClient,
  ref: PodRef,
  checks: ResultChecks,
): Promise<JsonValue | StoredFrame | undefined> {
  const base64Bytes = Math.ceil(checks.sizeLimitBytes / 3) * 4
  const limitBytes = base64Bytes + Math.ceil(base64Bytes / 76) + 4096
  const log = await callApi(`read the XCom sidecar's log of pod ${ref.namespace}/${ref.pod}`, () =>
    kube.core.readNamespacedPodLog({
      name: ref.pod,
      namespace: ref.namespace,
      container: SIDECAR_CONTAINER,
      limitBytes,
    }),
  )
  return frameResult(parseXcomFrame(log, checks), checks)
}

/** A frame's value, or what the sidecar reported it uploaded to the XCom store, for the worker to check. */
function frameResult(
  frame: Buffer | StoredFrame | undefined,
  checks: ResultChecks,
): Promise<JsonValue | StoredFrame | undefined> | StoredFrame {
  return frame instanceof StoredFrame ? frame : decodeResult(frame, checks)
}

export const NO_MESSAGE: unique symbol = Symbol('no result in the termination message')

/**
 * The sidecar's termination message, which the pod's status brought with the watch event: a whole
 * frame (a result up to about 3 KiB) is the result, read without a request. A frame the kubelet cut
 * at 4 KiB, or none, is NO_MESSAGE: the log holds it whole.
 */
export async function readResultFromMessage(
  message: string,
  checks: ResultChecks,
): Promise<JsonValue | StoredFrame | undefined | typeof NO_MESSAGE> {
  let bytes: Buffer | StoredFrame | undefined
  try {
    bytes = parseXcomFrame(message, checks)
  } catch {
    return NO_MESSAGE
  }
  return frameResult(bytes, checks)
}

/**
 * Exec mode (clusters before 1.29), as KubernetesPodOperator does it: `cat` the file in the sidecar,
 * then tell the sidecar to exit (SIGINT) so the pod can complete.
 */
export async function readResultByExec(
  kube: KubeClient,
  ref: PodRef,
  settings: SidecarSettings,
  checks: ResultChecks,
  warn: (message: string) => void,
): Promise<JsonValue | undefined> {
  const target = { ...ref, container: SIDECAR_CONTAINER }
  try {
    const cat = await callApi(`exec into the XCom sidecar of pod ${ref.namespace}/${ref.pod}`, () =>
      execInPod(kube, target, ['cat', settings.xcomPath]),
    )
    if (cat.exitCode === 0) return await decodeResult(cat.stdout, checks)
    if (/no such file/i.test(cat.stderr)) return await decodeResult(undefined, checks)
    throw new TaskFailure(
      `cannot read the result of pod task "${checks.task}": cat ${settings.xcomPath} in the sidecar exited with code ${cat.exitCode}: ${cat.stderr.trim()}`,
      'fatal',
    )
  } finally {
    // A plain sidecar gets no startup ordering: wait (briefly) for its PID file if base was quicker.
    const pidFile = shellQuote(sidecarPidFile(settings))
    const stop = `i=0; while [ ! -f ${pidFile} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; kill -INT "$(cat ${pidFile})"`
    await callApi(`stop the XCom sidecar of pod ${ref.namespace}/${ref.pod}`, () =>
      execInPod(kube, target, ['sh', '-c', stop]),
    ).then(
      (r) => {
        if (r.exitCode !== 0)
          warn(`could not stop the XCom sidecar (${r.stderr.trim()}); the pod keeps running until deleted`)
      },
      (error: unknown) => warn(`could not stop the XCom sidecar: ${(error as Error).message}`),
    )
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}
