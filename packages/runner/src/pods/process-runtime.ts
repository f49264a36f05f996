import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import type { V1Container, V1EnvVar } from '@kubernetes/client-node'
import {
  type ContainerExit,
  ContainerStartError,
  canBindMount,
  exitCodeOf,
  parseMemoryBytes,
  startContainerProcess,
  type VolumeMount,
} from '@podline/container-process'
import type { JsonValue, PodSpec, PodTaskDefinition } from '@podline/sdk'
import type { TaskExecution } from '../executors/task-execution.js'
import { TaskFailure, TaskSkipped } from '../executors/task-failure.js'
import { traceEnv } from '../tracing/tracing.js'
import type { StoredXCom } from '../xcom-store/pod-transfers.js'
import { abortReason } from './abortable.js'
import { createLineSplitter } from './line-splitter.js'
import { logTailPart } from './log-tail-message.js'
import { podName } from './pod-identity.js'
import { inPodPhase } from './pod-phase.js'
import { readResultFile } from './result-file.js'
import { uploadResultFile } from './result-upload.js'
import { BASE_CONTAINER, DEFAULT_XCOM_PATH, XCOM_PATH_ENV } from './xcom-sidecar.js'
import { acceptStored } from './xcom-upload.js'
import { decodeResult } from './xcom-value.js'

/** The namespace a pod whose spec names none is reported in: Kubernetes' own default. */
const DEFAULT_NAMESPACE = 'default'

/**
 * The `process` runtime: a pod task's init containers and then `base` run as local processes (the
 * image is ignored; the command runs on this machine), with the same XCom contract. The result
 * folder is bind-mounted at the xcom dir where the machine allows it, so images that hard-code
 * `/airflow/xcom/return.json` work; elsewhere `PODLINE_XCOM_PATH` points at the host file. The file is
 * read directly (no sidecar) and checked exactly as the sidecar's frame is.
 */
export async function runPodAsProcesses(
  exec: TaskExecution,
  def: PodTaskDefinition,
  spec: PodSpec,
  settings: { xcomSizeLimitBytes: number },
): Promise<JsonValue | StoredXCom | undefined> {
  const signal = exec.ctx.signal
  if (signal.aborted) throw abortReason(signal)
  // The names the pod would have on a cluster, stored as the launcher stores them, so what reads
  // pod_name / pod_namespace (downstream tasks, `podline xcom`, log correlation) works the same here.
  const identity = {
    store: exec.storeId,
    pipeline: exec.pipeline,
    runId: exec.runId,
    task: exec.task,
    attempt: exec.attempt,
    mapIndex: exec.mapIndex,
  }
  const name = podName(identity)
  await exec.putXcom('pod_name', name)
  await exec.putXcom('pod_namespace', spec.namespace ?? DEFAULT_NAMESPACE)
  exec.ctx.log.info(`running pod ${name} as local processes (process runtime)`, { pod: name })
  const attributes = { 'k8s.pod.name': name, 'podline.runtime': 'process' }
  const root = await mkdtemp(join(tmpdir(), `podline-${exec.task}-`))
  try {
    const xcomPath = posix.normalize(def.pod.xcomPath ?? DEFAULT_XCOM_PATH)
    const xcomHostDir = join(root, 'xcom')
    const { volumes, bindMounted } = await inPodPhase('create', attributes, async () => {
      await mkdir(xcomHostDir)
      return { volumes: await emptyDirVolumes(root, spec), bindMounted: await canBindMount() }
    })
    const hostResult = join(xcomHostDir, posix.basename(xcomPath))
    const env = {
      ...envOf(spec.env, exec),
      [XCOM_PATH_ENV]: bindMounted ? xcomPath : hostResult,
      PODLINE_PIPELINE: exec.pipeline,
      PODLINE_RUN_ID: exec.runId,
      PODLINE_TASK: exec.task,
      PODLINE_ATTEMPT: String(exec.attempt),
      ...(exec.mapIndex === undefined ? {} : { PODLINE_MAP_INDEX: String(exec.mapIndex) }),
      ...traceEnv(),
    }
    const xcomMount: VolumeMount = { hostPath: xcomHostDir, containerPath: posix.dirname(xcomPath) }
    // The phases a cluster pod has, as far as processes have them: no scheduling, the file for the sidecar.
    await inPodPhase('running', attributes, async () => {
      for (const init of spec.initContainers ?? []) {
        const exit = await runContainer(exec, init, { ...envOf(init.env, exec) }, mountsOf(init, volumes))
        if (exitCodeOf(exit) !== 0) {
          throw new TaskFailure(`init container ${init.name} exited with code ${exitCodeOf(exit)}`, 'task')
        }
      }
      const base: V1Container = { name: BASE_CONTAINER, ...pick(spec), volumeMounts: spec.volumeMounts ?? [] }
      const tail: string[] = []
      const exit = await runContainer(
        exec,
        base,
        env,
        [...mountsOf(base, volumes), xcomMount],
        tail,
        memoryLimit(spec),
      )
      assertSucceeded(exit, def, spec, tail)
    })
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

async function runContainer(
  exec: TaskExecution,
  container: V1Container,
  env: Record<string, string>,
  mounts: VolumeMount[],
  tail: string[] = [],
  memoryLimitBytes?: number,
): Promise<ContainerExit> {
  const signal = exec.ctx.signal
  const command = [...(container.command ?? []), ...(container.args ?? [])]
  if (!container.command?.length) {
    throw new TaskFailure(
      `container ${container.name} of task "${exec.task}" has no command: the process runtime cannot read the image's entrypoint, so state command: [...]`,
      'fatal',
    )
  }
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
      name: container.name,
      command,
      env,
      mounts,
      ...(container.workingDir ? { workingDir: container.workingDir } : {}),
      ...(memoryLimitBytes === undefined ? {} : { memoryLimitBytes }),
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

function assertSucceeded(exit: ContainerExit, def: PodTaskDefinition, spec: PodSpec, tail: string[]): void {
  const logPart = logTailPart(tail)
  if (exit.oomKilled) {
    throw new TaskFailure(
      `container base was OOMKilled (memory limit ${spec.resources?.limits?.memory})${logPart}`,
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

/** emptyDir volumes become temp folders; other kinds of volume have no local meaning and are skipped. */
async function emptyDirVolumes(root: string, spec: PodSpec): Promise<Map<string, string>> {
  const folders = new Map<string, string>()
  for (const volume of spec.volumes ?? []) {
    if (!volume.emptyDir) continue
    const dir = join(root, 'volumes', volume.name)
    await mkdir(dir, { recursive: true })
    folders.set(volume.name, dir)
  }
  return folders
}

function mountsOf(container: V1Container, volumes: Map<string, string>): VolumeMount[] {
  return (container.volumeMounts ?? []).flatMap((m) => {
    const host = volumes.get(m.name)
    if (!host) return []
    const hostPath = m.subPath ? join(host, m.subPath) : host
    return [{ hostPath, containerPath: m.mountPath, ...(m.readOnly ? { readOnly: true } : {}) }]
  })
}

/** Plain values only: `valueFrom` needs a cluster (Secrets, ConfigMaps, the downward API). */
function envOf(env: PodSpec['env'] | V1EnvVar[] | undefined, exec: TaskExecution): Record<string, string> {
  if (env === undefined) return {}
  if (!Array.isArray(env)) return { ...env }
  const out: Record<string, string> = {}
  for (const e of env) {
    if (e.value !== undefined) out[e.name] = e.value
    else if (e.valueFrom)
      exec.ctx.log.warn(
        `env ${e.name} uses valueFrom, which the process runtime cannot resolve; it is left unset`,
      )
  }
  return out
}

function memoryLimit(spec: PodSpec): number | undefined {
  const limit = spec.resources?.limits?.memory
  return limit === undefined ? undefined : parseMemoryBytes(limit)
}

function pick(spec: PodSpec): Pick<V1Container, 'command' | 'args' | 'workingDir'> {
  return {
    ...(spec.command ? { command: spec.command } : {}),
    ...(spec.args ? { args: spec.args } : {}),
    ...(spec.workingDir ? { workingDir: spec.workingDir } : {}),
  }
}
