import type { V1ContainerStateTerminated, V1Pod } from '@kubernetes/client-node'
import { type JsonValue, type PodSpec, type PodTaskDefinition, parseDuration } from '@podline/sdk'
import { TaskFailure, TaskSkipped } from '../engine/task-failure.js'
import { HandedOverError } from '../executors/handed-over.js'
import type { TaskExecution } from '../executors/task-execution.js'
import { traceEnv } from '../tracing/tracing.js'
import type { StoredXCom } from '../xcom-store/pod-transfers.js'
import { abortReason } from './abortable.js'
import type { ApiRetryPolicy } from './api-call.js'
import type { KubeClient } from './kube-client.js'
import { LogFollower } from './log-follower.js'
import type { LogStreams } from './log-streams.js'
import { logTailPart } from './log-tail-message.js'
import { createOrAttachPod, deletePod, labelPod, pendingTimeoutFailure } from './pod-api.js'
import { buildPod } from './pod-builder.js'
import { baseStarted, hasStarted, podProblem, terminatedState } from './pod-conditions.js'
import { LABEL_KEPT, podIdentityOf } from './pod-identity.js'
import { type PodHandle, type PodInformers, type PodState, TIMED_OUT } from './pod-informer.js'
import { inPodPhase } from './pod-phase.js'
import { loadPodTemplate } from './pod-template.js'
import {
  NO_MESSAGE,
  readResultByExec,
  readResultFromMessage,
  readResultFromSidecarLog,
} from './xcom-collection.js'
import { StoredFrame } from './xcom-frame.js'
import {
  BASE_CONTAINER,
  resolveSidecar,
  SIDECAR_CONTAINER,
  type SidecarMode,
  type SidecarSettings,
} from './xcom-sidecar.js'
import { acceptStored, podUpload } from './xcom-upload.js'
import type { ResultChecks } from './xcom-value.js'

export const DEFAULT_SCHEDULE_TIMEOUT = '5m'

export interface LaunchSettings {
  readonly sidecarImage?: string | undefined
  readonly sidecarMode?: SidecarMode | undefined
  readonly xcomSizeLimitBytes: number
  readonly retry?: ApiRetryPolicy | undefined
  /** Told the namespace before the pod is created there, so the orphan sweep looks there too. */
  readonly onNamespace?: ((namespace: string) => void) | undefined
  /** The executor's shared watches: every pod task follows its pod through its namespace's informer. */
  readonly informers: PodInformers
  /** The executor's limit on live log streams. */
  readonly logStreams?: LogStreams | undefined
  /**
   * Takes over the pod's onFinish (its deletion) once the outcome is stored, so the attempt's end is
   * reported then rather than after the API call: otherwise a downstream task, started meanwhile,
   * reports its start before its upstream's end. Without it the deletion is awaited in place.
   */
  readonly finishLater?: ((work: Promise<void>) => void) | undefined
}

/**
 * Runs one attempt of a pod task on the cluster and returns its result (undefined: no return_value).
 * Failures are TaskFailure (classified task / infra / fatal) or TaskSkipped; cancellation deletes the
 * pod at once and rethrows the signal's reason; a hand-over (HandedOverError) leaves the pod to the
 * attempt's next holder.
 */
export async function launchPod(
  kube: KubeClient,
  exec: TaskExecution,
  def: PodTaskDefinition,
  spec: PodSpec,
  settings: LaunchSettings,
): Promise<JsonValue | StoredXCom | undefined> {
  const identity = podIdentityOf(exec)
  const resolved = resolveSidecar(def.pod, { image: settings.sidecarImage, mode: settings.sidecarMode })
  const upload = await podUpload(exec, resolved)
  const sidecar = upload.url ? { ...resolved, uploadUrl: upload.url } : resolved
  const template = await loadPodTemplate(spec.podTemplate, exec.task)
  const pod = buildPod({
    identity,
    spec,
    run: def.pod,
    namespace: kube.namespace,
    template,
    sidecar,
    traceEnv: traceEnv(),
  })
  const ref = { namespace: pod.metadata?.namespace ?? kube.namespace, name: pod.metadata?.name ?? '' }
  const signal = exec.ctx.signal
  const log = exec.ctx.log
  let succeeded = false
  let exists = false
  settings.onNamespace?.(ref.namespace)
  // The orphan sweep leaves this pod to this task until its onFinish is done.
  const release = settings.informers.attend(ref)
  let released = false
  let watched: PodHandle | undefined
  let logs: LogFollower | undefined
  try {
    const { pod: live, attached } = await inPodPhase('create', podAttributes(ref), () =>
      createOrAttachPod(kube, pod, identity, {
        signal,
        retry: settings.retry,
        lookFirst: exec.resumed === true,
      }),
    )
    exists = true
    log.info(`${attached ? 'reattached to' : 'created'} pod ${ref.namespace}/${ref.name}`, {
      pod: ref.name,
      namespace: ref.namespace,
    })
    await exec.putXcom('pod_name', ref.name)
    await exec.putXcom('pod_namespace', ref.namespace)
    watched = settings.informers.for(ref.namespace, identity.store).track(ref.name, live, signal)
    logs = new LogFollower(kube, {
      namespace: ref.namespace,
      pod: ref.name,
      container: BASE_CONTAINER,
      signal,
      streams: settings.logStreams,
      onLine: (line) => log.info(`[${exec.task}] ${line}`, { pod: ref.name, container: BASE_CONTAINER }),
      onNotice: (message) => log.warn(message),
    })
    const checks: ResultChecks = {
      task: exec.task,
      output: def.output,
      sizeLimitBytes: settings.xcomSizeLimitBytes,
      store: exec.xcoms?.location,
      overLimitHint: upload.hint,
    }
    const value = await supervise(kube, watched, logs, {
      def,
      checks,
      sidecar,
      ref,
      warn: (m) => log.warn(m),
    })
    const result = value instanceof StoredFrame ? await acceptStored(exec, value, checks) : value
    succeeded = true
    return result
  } catch (error) {
    if (signal.aborted) {
      logs?.stop()
      watched?.stop()
      // Handed over (lease lost, worker stopping): the next holder attaches to this very pod.
      if (signal.reason instanceof HandedOverError) throw signal.reason
      // Cancel or timeout: the pod must not outlive its task run, whatever onFinish says.
      await deletePod(kube, ref, { gracePeriodSeconds: 0 }).catch((e: unknown) =>
        log.warn(
          `could not delete pod ${ref.namespace}/${ref.name} after cancellation: ${(e as Error).message}`,
        ),
      )
      throw abortReason(signal)
    }
    throw error
  } finally {
    logs?.stop()
    watched?.stop()
    if (exists && !signal.aborted) {
      released = true
      exec.afterRecorded(async () => {
        const finishing = applyOnFinish(
          kube,
          ref,
          def.pod.onFinish ?? 'delete_pod',
          succeeded,
          log.warn.bind(log),
        ).finally(release)
        if (settings.finishLater) settings.finishLater(finishing)
        else await finishing
      })
    }
    if (!released) release()
  }
}

interface SuperviseContext {
  def: PodTaskDefinition
  checks: ResultChecks
  sidecar: SidecarSettings
  ref: { namespace: string; name: string }
  warn: (message: string) => void
}

async function supervise(kube: KubeClient, watched: PodHandle, logs: LogFollower, c: SuperviseContext) {
  // Every wait first fails on what makes the attempt hopeless (deletion, eviction, a bad image).
  const guarded =
    <T>(check: (pod: V1Pod) => T | undefined) =>
    ({ pod, deleted }: PodState): T | undefined => {
      const failure = podProblem(pod, deleted)
      if (failure) throw failure
      return check(pod)
    }
  const scheduleMs = parseDuration(
    c.def.pod.scheduleTimeout ?? DEFAULT_SCHEDULE_TIMEOUT,
    `pod task "${c.checks.task}": scheduleTimeout`,
  )
  const attributes = podAttributes(c.ref)
  await inPodPhase('scheduled', attributes, async () => {
    const started = await watched.waitFor(
      guarded((pod) => (hasStarted(pod) ? true : undefined)),
      scheduleMs,
    )
    if (started === TIMED_OUT) throw await pendingTimeoutFailure(kube, watched.current.pod, scheduleMs)
  })

  await inPodPhase('running', attributes, async () => {
    await watched.waitFor(guarded((pod) => (baseStarted(pod) ? true : undefined)))
    logs.start()
    const base = await watched.waitFor(guarded((pod) => terminatedState(pod, BASE_CONTAINER)))
    await logs.finish()
    if (base === TIMED_OUT) throw new Error('unreachable: no timeout was set')
    assertBaseSucceeded(base, watched.current.pod, logs.lastLines(), c)
  })
  return inPodPhase('sidecar_read', attributes, () => readResult(kube, watched, c))
}

/** Reads the result the sidecar holds, once base has exited. */
async function readResult(kube: KubeClient, watched: PodHandle, c: SuperviseContext) {
  const podRef = { namespace: c.ref.namespace, pod: c.ref.name }
  if (c.sidecar.mode === 'exec') return readResultByExec(kube, podRef, c.sidecar, c.checks, c.warn)
  // An injected container that outlives base (a service mesh's istio-proxy) keeps the kubelet from
  // stopping the native sidecar: the pod would run on. The result is read and the sidecar stopped
  // through exec, as in exec mode; the pod's deletion ends the rest.
  const throughExec = (others: string[]) => {
    c.warn(
      `container${others.length > 1 ? 's' : ''} ${others.join(', ')} still run${others.length > 1 ? '' : 's'} after base ended (a service mesh proxy?): reading the result through exec`,
    )
    return readResultByExec(kube, podRef, c.sidecar, c.checks, c.warn)
  }
  const others = otherRunningContainers(watched.current.pod)
  if (others.length > 0) return throughExec(others)
  // The kubelet SIGTERMs a native sidecar once base has exited; a sidecar image that ignores SIGTERM
  // is killed after the grace period. Either way the log is read then, and the frame check decides.
  // A container that shows up running only now (its status came after base's end) switches to exec.
  const graceMs = ((watched.current.pod.spec?.terminationGracePeriodSeconds ?? 30) + 15) * 1000
  const ended = await watched.waitFor(({ pod, deleted }) => {
    if (deleted)
      throw new TaskFailure(
        `pod ${c.ref.namespace}/${c.ref.name} was deleted before its result was read`,
        'infra',
      )
    const phase = pod.status?.phase
    if (terminatedState(pod, SIDECAR_CONTAINER) || phase === 'Succeeded' || phase === 'Failed') return 'ended'
    return otherRunningContainers(pod).length > 0 ? 'others' : undefined
  }, graceMs)
  if (ended === 'others') return throughExec(otherRunningContainers(watched.current.pod))
  if (ended === TIMED_OUT)
    c.warn(`the XCom sidecar did not exit within ${graceMs / 1000}s of base; reading its log anyway`)
  const message = terminatedState(watched.current.pod, SIDECAR_CONTAINER)?.message
  const fromMessage = message ? await readResultFromMessage(message, c.checks) : NO_MESSAGE
  return fromMessage === NO_MESSAGE ? readResultFromSidecarLog(kube, podRef, c.checks) : fromMessage
}

/** Regular containers other than base still running: what keeps the kubelet from ending the pod. */
/**
 * The pod's other regular containers that have not ended: running, or not started yet (a status
 * still waiting). Either keeps the kubelet from stopping the native sidecar.
 */
function otherRunningContainers(pod: V1Pod): string[] {
  return (pod.status?.containerStatuses ?? [])
    .filter((s) => s.name !== BASE_CONTAINER && !s.state?.terminated)
    .map((s) => s.name)
}

const podAttributes = (ref: { namespace: string; name: string }) => ({
  'k8s.namespace.name': ref.namespace,
  'k8s.pod.name': ref.name,
})

function assertBaseSucceeded(
  base: V1ContainerStateTerminated,
  pod: V1Pod,
  lastLines: string[],
  c: SuperviseContext,
): void {
  const tail = lastLines.slice(-10)
  const logPart = logTailPart(tail)
  if (base.reason === 'OOMKilled') {
    const limit = pod.spec?.containers.find((x) => x.name === BASE_CONTAINER)?.resources?.limits?.memory
    throw new TaskFailure(
      `container base of pod ${c.ref.namespace}/${c.ref.name} was OOMKilled (memory limit ${limit ?? 'none set: the node ran out'}); ` +
        `raise resources.limits.memory or make the task use less${logPart}`,
      'task',
    )
  }
  if (base.exitCode === 0) return
  const skip = c.def.pod.skipOnExitCode
  const skipCodes = skip === undefined ? [] : Array.isArray(skip) ? skip : [skip]
  if (skipCodes.includes(base.exitCode)) {
    throw new TaskSkipped(
      `container base exited with code ${base.exitCode}, which skipOnExitCode marks as skipped`,
    )
  }
  throw new TaskFailure(
    `container base of pod ${c.ref.namespace}/${c.ref.name} exited with code ${base.exitCode}${base.reason && base.reason !== 'Error' ? ` (${base.reason})` : ''}${logPart}`,
    'task',
  )
}

async function applyOnFinish(
  kube: KubeClient,
  ref: { namespace: string; name: string },
  onFinish: 'delete_pod' | 'delete_succeeded_pod' | 'keep_pod',
  succeeded: boolean,
  warn: (message: string) => void,
): Promise<void> {
  if (onFinish === 'keep_pod' || (onFinish === 'delete_succeeded_pod' && !succeeded)) {
    // The orphan sweep sees only the pod: the label says this one was kept on purpose, even when
    // the pod itself succeeded and the task failed on its result.
    await labelPod(kube, ref, { [LABEL_KEPT]: 'true' }).catch((error: unknown) =>
      warn(
        `could not label kept pod ${ref.namespace}/${ref.name}: ${(error as Error).message}; ` +
          'the orphan sweep may delete it if it succeeded',
      ),
    )
    return
  }
  await deletePod(kube, ref).catch((error: unknown) =>
    warn(
      `could not delete pod ${ref.namespace}/${ref.name}: ${(error as Error).message}; the orphan collector will retry`,
    ),
  )
}
