import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ContainerExit,
  type ContainerProcess,
  type ContainerProcessSpec,
  ContainerStartError,
  containerMounts,
  containerProcess,
  createEmptyDirs,
  execInContainer,
  exitCodeOf,
  startContainerProcess,
  type VolumeMount,
} from '@podline/container-process'
import { now, type ResourceStore } from '../api/resource-store.js'
import type { ContainerJson, ContainerStatusJson, EventJson, PodJson } from '../wire-types.js'
import { ContainerConfigError, containerEnvironment } from './container-environment.js'
import { ContainerLog } from './container-log.js'
import { type FakeNode, unschedulableReason } from './fake-node.js'
import { imageIdOf, parseImage } from './image-reference.js'
import { findContainerStatus, isSidecar, refreshPodStatus, setCondition } from './pod-status.js'
import { type ContainerSimulation, startSimulatedContainer } from './simulated-container.js'

export interface KubeletSettings {
  readonly store: ResourceStore
  readonly node: FakeNode
  /** Bind-mount volumes at their mountPath; otherwise PODLINE_XCOM_PATH is rewritten to the host folder. */
  readonly bindMounts: boolean
  readonly volumesRoot: string
  readonly imagePullBackOffMs: number
  readonly isImageMissing: (image: string) => boolean
  /** Containers are simulated (no process, no volume folder) rather than run. */
  readonly simulation?: ContainerSimulation | undefined
}

interface RunningContainer {
  readonly process: ContainerProcess
  readonly finished: Promise<ContainerExit>
  forcedOom: boolean
}

/** The kubelet keeps the first 4 KiB of a termination message. */
const MAX_MESSAGE_BYTES = 4096

/** How often the double runs a startup probe (the real kubelet: every `periodSeconds`). */
const PROBE_PERIOD_MS = 20

/** The kubelet's message (and event) for a pod past its activeDeadlineSeconds. */
export const DEADLINE_MESSAGE = 'Pod was active on the node longer than the specified deadline'

/** Why the kubelet stops a pod, which decides the grace period and how the stop is reported. */
export type StopCause =
  | { kind: 'delete'; gracePeriodSeconds: number }
  | { kind: 'evict'; message: string }
  | { kind: 'deadline' }
  | { kind: 'node-lost' }
  | { kind: 'shutdown' }

/**
 * The kubelet's work for one pod: schedule it on the node, pull (or refuse) images, run init
 * containers in order, native sidecars alongside, then the containers, and report every transition
 * through the store, as status writes the watchers see.
 */
export class PodWorker {
  readonly logs = new Map<string, ContainerLog>()
  /** The spec each container ran with, so exec runs with the same environment and mounts. */
  readonly processSpecs = new Map<string, Omit<ContainerProcessSpec, 'command'>>()
  private readonly running = new Map<string, RunningContainer>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopping = false
  /** Past its activeDeadlineSeconds: its containers are being stopped, then it fails. */
  private deadlineExceeded = false
  /** Container state changes a deadline stop holds back until the pod fails. */
  private readonly heldStates: Array<(pod: PodJson) => void> = []
  private volumeDir: string | undefined
  unscheduled = false
  done: Promise<void> = Promise.resolve()

  constructor(
    private readonly settings: KubeletSettings,
    readonly namespace: string,
    readonly name: string,
  ) {}

  start(): void {
    this.unscheduled = false
    this.done = this.run().catch((error: unknown) => {
      // A bug here must not take the double down; it shows on the pod as the kubelet's would.
      this.update((pod) => {
        pod.status.message = `kube-double: ${error instanceof Error ? error.message : String(error)}`
      })
    })
  }

  get hasRunningContainers(): boolean {
    return this.running.size > 0
  }

  /** Stops every container: SIGTERM, then SIGKILL after the grace period; regular ones before sidecars. */
  async stop(cause: StopCause): Promise<void> {
    this.stopping = true
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    // Eviction here is the kubelet's hard eviction and node loss takes the processes with it: no
    // grace. A pod past its deadline is stopped with its own grace period, as a deletion is.
    const graceMs =
      cause.kind === 'delete'
        ? cause.gracePeriodSeconds * 1000
        : cause.kind === 'deadline'
          ? this.graceMs()
          : 0
    if (cause.kind === 'evict') {
      this.update((pod) => {
        pod.status.reason = 'Evicted'
        pod.status.message = cause.message
        setCondition(pod, 'DisruptionTarget', 'True', 'TerminationByKubelet', cause.message)
      })
      this.event('Warning', 'Evicted', cause.message)
    }
    const deadline = Date.now() + graceMs
    const regular = this.pod()?.spec.containers.map((c) => c.name) ?? []
    await Promise.all(regular.map((name) => this.stopContainer(name, deadline, cause.kind !== 'shutdown')))
    await this.stopSidecars(deadline, cause.kind !== 'shutdown')
    await this.done
    if (cause.kind === 'evict') {
      this.update((pod) => {
        pod.status.phase = 'Failed'
        refreshPodStatus(pod)
      })
    }
  }

  /** SIGKILLs a container as the kernel's OOM killer would, so it reports OOMKilled. */
  oomKill(containerName?: string): boolean {
    const pod = this.pod()
    const name = containerName ?? pod?.spec.containers.find((c) => this.running.has(c.name))?.name
    const container = name ? this.running.get(name) : undefined
    if (!container) return false
    container.forcedOom = true
    container.process.kill('SIGKILL')
    return true
  }

  async removeVolumes(): Promise<void> {
    if (this.volumeDir) await rm(this.volumeDir, { recursive: true, force: true })
  }

  private pod(): PodJson | undefined {
    return this.settings.store.getPod(this.namespace, this.name)
  }

  private update(change: (pod: PodJson) => void): void {
    this.settings.store.updatePod(this.namespace, this.name, change)
  }

  private event(
    type: EventJson['type'],
    reason: string,
    message: string,
    container?: string,
    component = 'kubelet',
  ): void {
    const pod = this.pod()
    if (!pod) return
    this.settings.store.recordEvent({
      involvedObject: {
        kind: 'Pod',
        namespace: this.namespace,
        name: this.name,
        uid: pod.metadata.uid,
        apiVersion: 'v1',
        resourceVersion: pod.metadata.resourceVersion,
        ...(container ? { fieldPath: this.fieldPath(pod, container) } : {}),
      },
      reason,
      message,
      source: component === 'kubelet' ? { component, host: this.settings.node.name } : { component },
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? this.settings.node.name : '',
    })
  }

  private fieldPath(pod: PodJson, container: string): string {
    const init = pod.spec.initContainers?.some((c) => c.name === container)
    return `spec.${init ? 'initContainers' : 'containers'}{${container}}`
  }

  private async run(): Promise<void> {
    const pod = this.pod()
    if (!pod) return
    const refusal = unschedulableReason(pod, this.settings.node)
    if (refusal) {
      this.unscheduled = true
      this.update((p) => setCondition(p, 'PodScheduled', 'False', 'Unschedulable', refusal))
      this.event('Warning', 'FailedScheduling', refusal, undefined, 'default-scheduler')
      return
    }
    this.update((p) => {
      p.spec.nodeName = this.settings.node.name
      setCondition(p, 'PodScheduled', 'True')
    })
    this.event(
      'Normal',
      'Scheduled',
      `Successfully assigned ${this.namespace}/${this.name} to ${this.settings.node.name}`,
      undefined,
      'default-scheduler',
    )

    await this.createVolumes(pod)
    const hasInit = (pod.spec.initContainers ?? []).length > 0
    this.update((p) => {
      const ip = this.settings.node.ip
      Object.assign(p.status, {
        hostIP: ip,
        hostIPs: [{ ip }],
        podIP: ip,
        podIPs: [{ ip }],
        startTime: now(),
      })
      const waiting = (c: ContainerJson, reason: string): ContainerStatusJson => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason } },
        lastState: {},
      })
      if (hasInit)
        p.status.initContainerStatuses = (p.spec.initContainers ?? []).map((c) =>
          waiting(c, 'PodInitializing'),
        )
      p.status.containerStatuses = p.spec.containers.map((c) =>
        waiting(c, hasInit ? 'PodInitializing' : 'ContainerCreating'),
      )
      setCondition(p, 'PodReadyToStartContainers', 'True')
      refreshPodStatus(p)
    })
    this.watchDeadline(pod)

    for (const init of pod.spec.initContainers ?? []) {
      if (this.stopping) return
      const started = await this.startContainer(init)
      if (!started) return
      if (isSidecar(init)) {
        // As the kubelet does: the next init container, and the containers, wait for a native
        // sidecar's startup probe to succeed.
        if (!(await this.startupProbePasses(init))) return
        continue
      }
      const exit = await started.finished
      if (exitCodeOf(exit) !== 0 || this.stopping) {
        await this.stopSidecars(Date.now() + this.graceMs(), true)
        return
      }
    }
    if (this.stopping) return
    const started = await Promise.all(pod.spec.containers.map((c) => this.startContainer(c)))
    await Promise.all(started.map((s) => s?.finished))
    // A container that never started (bad image) keeps the pod Pending, sidecars included.
    if (this.stopping || started.some((s) => s === undefined)) return
    await this.stopSidecars(Date.now() + this.graceMs(), true)
  }

  /**
   * Runs a container's exec startup probe until it succeeds (true) or fails `failureThreshold` times,
   * when the kubelet kills the container (false). The period is compressed to PROBE_PERIOD_MS, as the
   * double compresses image pull back-off: tests need the order the probe imposes, not its waiting.
   */
  private async startupProbePasses(container: ContainerJson): Promise<boolean> {
    const probe = container.startupProbe
    const command = probe?.exec?.command
    if (!probe || !command?.length) return true
    if (this.settings.simulation) {
      this.setStatus(container.name, (s) => {
        s.started = true
        s.ready = true
      })
      return true
    }
    this.setStatus(container.name, (s) => {
      s.started = false
      s.ready = false
    })
    const threshold = probe.failureThreshold ?? 3
    for (let failures = 0; failures < threshold; ) {
      if (this.stopping || !this.running.has(container.name)) return false
      const spec = this.processSpecs.get(container.name)
      const result = spec ? await execInContainer(spec, command) : undefined
      if (result && exitCodeOf(result) === 0) {
        this.setStatus(container.name, (s) => {
          s.started = true
          s.ready = true
        })
        return true
      }
      failures += 1
      await new Promise((r) => setTimeout(r, PROBE_PERIOD_MS))
    }
    this.event('Warning', 'Unhealthy', `Startup probe failed: ${command.join(' ')}`, container.name)
    this.running.get(container.name)?.process.kill('SIGKILL')
    return false
  }

  private graceMs(): number {
    return (this.pod()?.spec.terminationGracePeriodSeconds ?? 30) * 1000
  }

  private setStatus(name: string, change: (status: ContainerStatusJson) => void): void {
    const apply = (pod: PodJson) => {
      const status = findContainerStatus(pod, name)
      if (status) change(status)
    }
    // A deadline stop is the kubelet's syncTerminatingPod: no container state is published until
    // every container has stopped, then all of them with the Failed phase (exceedDeadline).
    if (this.deadlineExceeded) {
      this.heldStates.push(apply)
      return
    }
    this.update((pod) => {
      apply(pod)
      refreshPodStatus(pod)
    })
  }

  /**
   * activeDeadlineSeconds, counted from the pod's startTime, as the kubelet does: once it passes,
   * Ready and ContainersReady turn False (PodFailed), a DeadlineExceeded event is recorded and the
   * containers are stopped with the pod's grace period; only when the last one has stopped is the
   * pod Failed with reason DeadlineExceeded (the phase and the reason arrive in one update).
   */
  private watchDeadline(pod: PodJson): void {
    const seconds = pod.spec.activeDeadlineSeconds
    if (seconds === undefined) return
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void this.exceedDeadline()
    }, seconds * 1000)
    this.timers.add(timer)
  }

  private async exceedDeadline(): Promise<void> {
    const phase = this.pod()?.status.phase
    if (this.stopping || phase === 'Succeeded' || phase === 'Failed') return
    this.deadlineExceeded = true
    this.update((pod) => this.holdDeadline(pod))
    this.event('Normal', 'DeadlineExceeded', DEADLINE_MESSAGE)
    await this.stop({ kind: 'deadline' })
    this.update((pod) => {
      for (const apply of this.heldStates.splice(0)) apply(pod)
      pod.status.phase = 'Failed'
      this.holdDeadline(pod)
    })
  }

  /** While a deadline stop runs: not ready; once terminal, Failed with the deadline's reason. */
  private holdDeadline(pod: PodJson): void {
    if (!this.deadlineExceeded) return
    if (pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed') {
      pod.status.phase = 'Failed'
      pod.status.reason = 'DeadlineExceeded'
      pod.status.message = DEADLINE_MESSAGE
      refreshPodStatus(pod)
    }
    setCondition(pod, 'Ready', 'False', 'PodFailed')
    setCondition(pod, 'ContainersReady', 'False', 'PodFailed')
  }

  /** Pulls (or fails to) and starts one container; resolves to its exit, or undefined if it never started. */
  // The exit is wrapped: an async function returning a bare promise would wait for the container to end.
  private async startContainer(
    container: ContainerJson,
  ): Promise<{ finished: Promise<ContainerExit> } | undefined> {
    const pod = this.pod()
    if (!pod) return undefined
    const image = container.image ?? ''
    const parsed = parseImage(image)
    if (!parsed.valid) {
      this.setStatus(container.name, (s) => {
        s.state = { waiting: { reason: 'InvalidImageName', message: parsed.message } }
      })
      this.event('Warning', 'InspectFailed', parsed.message, container.name)
      this.event('Warning', 'Failed', 'Error: InvalidImageName', container.name)
      return undefined
    }
    if (this.settings.isImageMissing(image)) {
      this.failPull(container, parsed.normalized)
      return undefined
    }
    this.event('Normal', 'Pulled', `Container image "${image}" already present on machine`, container.name)

    let env: Record<string, string>
    let mounts: VolumeMount[]
    try {
      env = containerEnvironment(pod, container)
      mounts = this.mountsOf(pod, container)
    } catch (error) {
      if (!(error instanceof ContainerConfigError)) throw error
      this.setStatus(container.name, (s) => {
        s.state = { waiting: { reason: 'CreateContainerConfigError', message: error.message } }
      })
      this.event('Warning', 'Failed', `Error: ${error.message}`, container.name)
      return undefined
    }
    // The termination message file: a host file the container's variables that name the path point
    // at (the double mounts no single files), read into the terminated state when it exits.
    const simulation = this.settings.simulation?.simulate(pod, container)
    const messagePath = container.terminationMessagePath ?? '/dev/termination-log'
    const messageFile = join(this.volumeDir ?? '', `${container.name}.termination-log`)
    if (!simulation) {
      await mkdir(this.volumeDir ?? '', { recursive: true })
      await writeFile(messageFile, '', { mode: 0o666 })
      env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === messagePath ? messageFile : v]))
    }
    const readMessage = async (): Promise<string> => {
      const text = simulation
        ? (simulation.terminationMessage?.() ?? '')
        : await readFile(messageFile).then(
            (bytes) => bytes.subarray(0, MAX_MESSAGE_BYTES).toString('utf8'),
            () => '',
          )
      return text.slice(0, MAX_MESSAGE_BYTES)
    }
    // Without bind mounts, a script finds its result file through PODLINE_XCOM_PATH on the host.
    const { command, memoryLimitBytes, ...processSpec } = containerProcess(container, env, mounts, {
      bindMounts: this.settings.bindMounts,
      pathVariables: ['PODLINE_XCOM_PATH'],
    })
    this.processSpecs.set(container.name, processSpec)
    const log = new ContainerLog()
    this.logs.set(container.name, log)
    const containerID = `containerd://${randomBytes(32).toString('hex')}`
    const imageID = imageIdOf(parsed.repository, parsed.normalized)
    this.event('Normal', 'Created', `Created container: ${container.name}`, container.name)
    const startedAt = now()
    let proc: ContainerProcess
    try {
      const onOutput = (chunk: Buffer, stream: 'stdout' | 'stderr') => log.append(chunk, stream)
      proc = simulation
        ? startSimulatedContainer(simulation, onOutput)
        : await startContainerProcess({
            ...processSpec,
            command,
            ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}),
            onOutput,
          })
    } catch (error) {
      if (!(error instanceof ContainerStartError)) throw error
      const message = `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${error.message}: unknown`
      log.end()
      this.setStatus(container.name, (s) => {
        Object.assign(s, { containerID, imageID, started: false })
        s.state = {
          terminated: {
            exitCode: 128,
            reason: 'StartError',
            message,
            startedAt: '1970-01-01T00:00:00Z',
            finishedAt: now(),
            containerID,
          },
        }
      })
      this.event('Warning', 'Failed', `Error: ${message}`, container.name)
      return { finished: Promise.resolve({ exitCode: 128, signal: null, oomKilled: false }) }
    }
    const running: RunningContainer = {
      process: proc,
      forcedOom: false,
      finished: proc.exited.then(async (exit) => {
        this.running.delete(container.name)
        log.end()
        const exitCode = exitCodeOf(exit)
        const oom = exit.oomKilled || running.forcedOom
        const message = await readMessage()
        this.setStatus(container.name, (s) => {
          s.ready = false
          s.started = false
          s.state = {
            terminated: {
              exitCode,
              reason: oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
              ...(message ? { message } : {}),
              startedAt,
              finishedAt: now(),
              containerID,
            },
          }
        })
        return exit
      }),
    }
    this.running.set(container.name, running)
    // The pod was stopped while this container was starting: it must not outlive the stop.
    if (this.stopping) proc.kill('SIGKILL')
    this.setStatus(container.name, (s) => {
      Object.assign(s, { containerID, imageID, image: parsed.normalized, started: true, ready: true })
      s.state = { running: { startedAt } }
    })
    this.event('Normal', 'Started', `Started container ${container.name}`, container.name)
    return { finished: running.finished }
  }

  private failPull(container: ContainerJson, normalized: string): void {
    const image = container.image ?? ''
    if (container.imagePullPolicy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`
      this.setStatus(container.name, (s) => {
        s.state = { waiting: { reason: 'ErrImageNeverPull', message } }
      })
      this.event('Warning', 'ErrImageNeverPull', message, container.name)
      return
    }
    const cause = `rpc error: code = NotFound desc = failed to pull and unpack image "${normalized}": failed to resolve reference "${normalized}": ${normalized}: not found`
    this.event('Normal', 'Pulling', `Pulling image "${image}"`, container.name)
    this.event('Warning', 'Failed', `Failed to pull image "${image}": ${cause}`, container.name)
    this.event('Warning', 'Failed', 'Error: ErrImagePull', container.name)
    this.setStatus(container.name, (s) => {
      s.state = { waiting: { reason: 'ErrImagePull', message: cause } }
    })
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      const message = `Back-off pulling image "${image}"`
      this.setStatus(container.name, (s) => {
        s.state = { waiting: { reason: 'ImagePullBackOff', message } }
      })
      this.event('Normal', 'BackOff', message, container.name)
      this.event('Warning', 'Failed', 'Error: ImagePullBackOff', container.name)
    }, this.settings.imagePullBackOffMs)
    this.timers.add(timer)
  }

  private async createVolumes(pod: PodJson): Promise<void> {
    this.volumeDir = join(
      this.settings.volumesRoot,
      `${this.namespace}_${this.name}_${pod.metadata.uid ?? ''}`,
    )
    if (this.settings.simulation) return
    await createEmptyDirs(pod, this.volumeDir)
  }

  private mountsOf(pod: PodJson, container: ContainerJson): VolumeMount[] {
    return containerMounts(pod, container, this.volumeDir ?? '', ({ kind, name }) => {
      throw new ContainerConfigError(`${kind} "${name}" not found`)
    })
  }

  private async stopContainer(name: string, deadline: number, announce: boolean): Promise<void> {
    const container = this.running.get(name)
    if (!container) return
    if (announce) this.event('Normal', 'Killing', `Stopping container ${name}`, name)
    const remaining = Math.max(0, deadline - Date.now())
    if (remaining === 0) container.process.kill('SIGKILL')
    // The stop signal goes to the main process only, as the runtime does; SIGKILL takes the group.
    else container.process.signalMain('SIGTERM')
    const timer = setTimeout(() => container.process.kill('SIGKILL'), remaining)
    await container.finished
    clearTimeout(timer)
  }

  /** Sidecars stop after the containers they serve, in reverse order, sharing one grace period (KEP-753). */
  private async stopSidecars(deadline: number, announce: boolean): Promise<void> {
    const sidecars = (this.pod()?.spec.initContainers ?? []).filter(isSidecar).reverse()
    for (const sidecar of sidecars) await this.stopContainer(sidecar.name, deadline, announce)
  }
}
