import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import type { V1Container, V1Pod } from '@kubernetes/client-node'
import {
  type ContainerExit,
  ContainerStartError,
  canBindMount,
  containerEnvironment,
  containerMounts,
  containerProcess,
  createEmptyDirs,
  exitCodeOf,
  startContainerProcess,
} from '@podline/container-process'
import type { JsonValue, PodSpec, PodTaskDefinition } from '@podline/sdk'
import { TaskFailure, TaskSkipped } from '../engine/task-failure.js'
import type { TaskExecution } from '../executors/task-execution.js'
import { traceEnv } from '../tracing/tracing.js'
import type { StoredXCom } from '../xcom-store/pod-transfers.js'
import { abortReason } from './abortable.js'
import { createLineSplitter } from './line-splitter.js'
import { logTailPart } from './log-tail-message.js'
import { buildPod } from './pod-builder.js'
import { podIdentityOf } from './pod-identity.js'
import { inPodPhase } from './pod-phase.js'
import { loadPodTemplate } from './pod-template.js'
import { readResultFile } from './result-file.js'
import { uploadResultFile } from './result-upload.js'
import {
  BASE_CONTAINER,
  resolveSidecar,
  SIDECAR_CONTAINER,
  XCOM_PATH_ENV,
  XCOM_VOLUME,
} from './xcom-sidecar.js'
import { acceptStored } from './xcom-upload.js'
import { decodeResult } from './xcom-value.js'

/** The namespace a pod whose spec and template name none is reported in: Kubernetes' own default. */
const DEFAULT_NAMESPACE = 'default'

/**
 * The `process` runtime: the pod the cluster would get (buildPod: podTemplate, fullPodSpec, the
 * task's fields, secrets, Podline's variables, the xcom volume), without the sidecar, run as local
 * processes: its init containers and then `base` (the image is ignored; the command runs on this
 * machine). Each container becomes a process as in the Kubernetes double's kubelet, through
 * @podline/container-process (`$(VAR)` expansion, the downward API, emptyDir and hostPath mounts),
 * with the same XCom contract. The xcom emptyDir is bind-mounted at the xcom dir where the machine
 * allows it, so images that hard-code `/airflow/xcom/return.json` work; elsewhere `PODLINE_XCOM_PATH`
 * points at the host file. The file is read directly (no sidecar) and checked exactly as the
 * sidecar's frame is.
 */
export async function runPodAsProcesses(
  exec: TaskExecution,
  def: PodTaskDefinition,
  spec: PodSpec,
  settings: { xcomSizeLimitBytes: number },
): Promise<JsonValue | StoredXCom | undefined> {
  const signal = exec.ctx.signal
  if (signal.aborted) throw abortReason(signal)
  const sidecar = resolveSidecar(def.pod)
  const pod = withoutSidecar(
    buildPod({
      identity: podIdentityOf(exec),
      spec,
      run: def.pod,
      namespace: DEFAULT_NAMESPACE,
      template: await loadPodTemplate(spec.podTemplate, exec.task),
      sidecar,
      traceEnv: traceEnv(),
    }),
  )
  // The names the pod would have on a cluster, stored as the launcher stores them, so what reads
  // pod_name / pod_namespace (downstream tasks, `podline xcom`, log correlation) works the same here.
  const name = pod.metadata?.name ?? ''
  await exec.putXcom('pod_name', name)
  await exec.putXcom('pod_namespace', pod.metadata?.namespace ?? DEFAULT_NAMESPACE)
  exec.ctx.log.info(`running pod ${name} as local processes (process runtime)`, { pod: name })
  const attributes = { 'k8s.pod.name': name, 'podline.runtime': 'process' }
  const podSpec = pod.spec ?? { containers: [] }
  const base = podSpec.containers.find((c) => c.name === BASE_CONTAINER)
  if (base === undefined) throw new Error('unreachable: the task pod always has a base container')
  // A template's or fullPodSpec's other containers would run beside base on a cluster; here only base does.
  for (const other of podSpec.containers.filter((c) => c !== base))
    exec.ctx.log.warn(
      `container ${other.name} is not run by the process runtime: only init containers and base are`,
    )
  const root = await mkdtemp(join(tmpdir(), `podline-${exec.task}-`))
  try {
    const volumesRoot = join(root, 'volumes')
    const bindMounts = await inPodPhase('create', attributes, async () => {
      await createEmptyDirs(pod, volumesRoot)
      return canBindMount()
    })
    const node: LocalPod = { exec, pod, volumesRoot, bindMounts }
    // The phases a cluster pod has, as far as processes have them: no scheduling, the file for the sidecar.
    await inPodPhase('running', attributes, async () => {
      for (const init of podSpec.initContainers ?? []) {
        const exit = await runContainer(node, init)
        if (exitCodeOf(exit) !== 0) {
          throw new TaskFailure(`init container ${init.name} exited with code ${exitCodeOf(exit)}`, 'task')
        }
      }
      const tail: string[] = []
      const exit = await runContainer(node, base, tail)
      assertSucceeded(exit, def, base, tail)
    })
    const hostResult = join(volumesRoot, XCOM_VOLUME, posix.basename(sidecar.xcomPath))
    const checks = {
      task: exec.task,
      output: def.output,
      sizeLimitBytes: settings.xcomSizeLimitBytes,
      store: exec.xcoms?.location,
    }
    return await inPodPhase('sidecar_read', attributes, async () => {
      // With an XCom store, a result over the log frame's limit goes there, as a pod's sidecar sends it.
      const xcoms = exec.xcoms
      if (xcoms) {
        const { uploaded, hint } = await uploadResultFile(hostResult, checks, xcoms, () =>
          xcoms.uploadTarget(),
        )
        if (uploaded) return acceptStored(exec, uploaded, checks)
        if (hint)
          return decodeResult(await readResultFile(hostResult, { ...checks, overLimitHint: hint }), checks)
      }
      return decodeResult(await readResultFile(hostResult, checks), checks)
    })
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** The pod's processes share this: its emptyDir folders and whether they are bind-mounted. */
interface LocalPod {
  readonly exec: TaskExecution
  readonly pod: V1Pod
  readonly volumesRoot: string
  readonly bindMounts: boolean
}

/** The process runtime reads the result file itself: the pod runs without the sidecar. */
function withoutSidecar(pod: V1Pod): V1Pod {
  const spec = pod.spec ?? { containers: [] }
  const initContainers = (spec.initContainers ?? []).filter((c) => c.name !== SIDECAR_CONTAINER)
  const { initContainers: _, ...rest } = spec
  return {
    ...pod,
    spec: {
      ...rest,
      containers: spec.containers.filter((c) => c.name !== SIDECAR_CONTAINER),
      ...(initContainers.length > 0 ? { initContainers } : {}),
    },
  }
}

async function runContainer(
  node: LocalPod,
  container: V1Container,
  tail: string[] = [],
): Promise<ContainerExit> {
  const { exec, pod } = node
  const signal = exec.ctx.signal
  if (!container.command?.length) {
    throw new TaskFailure(
      `container ${container.name} of task "${exec.task}" has no command: the process runtime cannot read the image's entrypoint, so state command: [...]`,
      'fatal',
    )
  }
  // Secrets and ConfigMaps need an API server, which the process runtime has not: a variable that
  // reads one (`secrets` of deployType env, env valueFrom) is left unset, envFrom is ignored and a
  // Secret or ConfigMap volume is not mounted (its files are absent), each said in a warning.
  const warn = (message: string) => exec.ctx.log.warn(message, { container: container.name })
  const env = containerEnvironment(pod, container, {
    storedValue: (ref) => {
      warn(
        `env ${ref.variable} reads ${ref.kind} "${ref.name}", which the process runtime cannot resolve; it is left unset`,
      )
      return undefined
    },
  })
  for (const from of container.envFrom ?? []) {
    const source = from.secretRef
      ? `secret "${from.secretRef.name}"`
      : `configmap "${from.configMapRef?.name}"`
    warn(`envFrom ${source} is ignored: the process runtime cannot read it`)
  }
  const mounts = containerMounts(pod, container, node.volumesRoot, ({ kind, name, mount }) =>
    warn(`${kind} "${name}" is not mounted at ${mount.mountPath}: the process runtime has no such volume`),
  )
  const processSpec = containerProcess(container, env, mounts, {
    bindMounts: node.bindMounts,
    pathVariables: [XCOM_PATH_ENV],
  })
  const onLine = (line: string) => {
    tail.push(line)
    if (tail.length > 10) tail.shift()
    exec.ctx.log.info(`[${exec.task}] ${line}`, { container: container.name })
  }
  // One splitter per stream, as the kubelet keeps lines per stream: a stderr chunk arriving between
  // two halves of a stdout line (or of a UTF-8 character) must not cut it.
  const lines = { stdout: createLineSplitter(onLine), stderr: createLineSplitter(onLine) }
  let proc: Awaited<ReturnType<typeof startContainerProcess>>
  try {
    proc = await startContainerProcess({
      ...processSpec,
      onOutput: (chunk, stream) => lines[stream].push(chunk),
    })
  } catch (error) {
    if (error instanceof ContainerStartError)
      throw new TaskFailure(`container ${container.name} cannot start: ${error.message}`, 'fatal')
    throw error
  }
  // Cancellation kills the whole process group, as deleting the pod would.
  const onAbort = () => proc.kill('SIGKILL')
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    const exit = await proc.exited
    lines.stdout.flush()
    lines.stderr.flush()
    if (signal.aborted) throw abortReason(signal)
    return exit
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

function assertSucceeded(
  exit: ContainerExit,
  def: PodTaskDefinition,
  base: V1Container,
  tail: string[],
): void {
  const logPart = logTailPart(tail)
  if (exit.oomKilled) {
    throw new TaskFailure(
      `container base was OOMKilled (memory limit ${base.resources?.limits?.memory})${logPart}`,
      'task',
    )
  }
  const code = exitCodeOf(exit)
  if (code === 0) return
  const skip = def.pod.skipOnExitCode
  if ((skip === undefined ? [] : Array.isArray(skip) ? skip : [skip]).includes(code)) {
    throw new TaskSkipped(`container base exited with code ${code}, which skipOnExitCode marks as skipped`)
  }
  throw new TaskFailure(`container base exited with code ${code}${logPart}`, 'task')
}
