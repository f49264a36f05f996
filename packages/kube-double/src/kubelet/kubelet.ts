import { now } from '../api/resource-store.js'
import { findContainerStatus, setCondition } from './pod-status.js'
import { type KubeletSettings, PodWorker } from './pod-worker.js'

/** Runs every pod bound to the fake node, and carries out deletion, eviction and node loss. */
export class Kubelet {
  private readonly workers = new Map<string, PodWorker>()
  private readonly deletions = new Set<Promise<void>>()

  constructor(private readonly settings: KubeletSettings) {}

  admit(namespace: string, name: string): PodWorker {
    const worker = new PodWorker(this.settings, namespace, name)
    this.workers.set(`${namespace}/${name}`, worker)
    worker.start()
    return worker
  }

  worker(namespace: string, name: string): PodWorker | undefined {
    return this.workers.get(`${namespace}/${name}`)
  }

  /**
   * Graceful deletion: the pod gets deletionTimestamp at once; its containers get SIGTERM, SIGKILL after
   * the grace period; then the pod is removed (the DELETED event). A pod with nothing running goes at once.
   */
  delete(namespace: string, name: string, gracePeriodSeconds: number | undefined): void {
    const { store } = this.settings
    const pod = store.getPod(namespace, name)
    const worker = this.worker(namespace, name)
    if (!pod) return
    const grace = gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30
    // As on a real node: a graceful delete is first a deletionTimestamp on the object, even when the
    // kubelet has nothing to stop and confirms at once; only gracePeriodSeconds=0 removes it outright.
    if (grace > 0) markDeleting(store, namespace, name, grace)
    this.track(this.finishDeletion(namespace, name, worker, grace))
  }

  private track(deletion: Promise<void>): void {
    this.deletions.add(deletion)
    void deletion.finally(() => this.deletions.delete(deletion))
  }

  private async finishDeletion(
    namespace: string,
    name: string,
    worker: PodWorker | undefined,
    grace: number,
  ): Promise<void> {
    this.workers.delete(`${namespace}/${name}`)
    if (worker) {
      await worker.stop({ kind: 'delete', gracePeriodSeconds: grace })
      await worker.removeVolumes()
    }
    this.settings.store.removePod(namespace, name)
  }

  /** The kubelet's node-pressure eviction: containers killed, pod Failed with reason Evicted (and kept). */
  async evict(namespace: string, name: string, message?: string): Promise<boolean> {
    const worker = this.worker(namespace, name)
    if (!worker) return false
    await worker.stop({
      kind: 'evict',
      message:
        message ?? 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 92Mi. ',
    })
    return true
  }

  oomKill(namespace: string, name: string, container?: string): boolean {
    return this.worker(namespace, name)?.oomKill(container) ?? false
  }

  /**
   * The node stops reporting. What the control plane does, condensed: the node controller marks its pods
   * not Ready, the taint-eviction controller deletes them (DisruptionTarget DeletionByTaintManager), and
   * PodGC, since the kubelet never confirms, marks them Failed with containers in ContainerStatusUnknown
   * and removes them. Processes are killed: the node is gone with them.
   */
  async loseNode(options: { deletePods: boolean }): Promise<void> {
    const { store, node } = this.settings
    node.ready = false
    const workers = [...this.workers.values()].filter(
      (w) => store.getPod(w.namespace, w.name)?.spec.nodeName === node.name,
    )
    await Promise.all(
      workers.map(async (worker) => {
        // The reason goes first so the phase does not pass through an ordinary Failed on the way.
        store.updatePod(worker.namespace, worker.name, (pod) => {
          setCondition(pod, 'Ready', 'False', 'NodeNotReady')
          setCondition(
            pod,
            'DisruptionTarget',
            'True',
            'DeletionByTaintManager',
            'Taint manager: deleting due to NoExecute taint',
          )
          pod.status.reason = 'NodeLost'
          pod.status.message = `Node ${node.name} which was running pod ${worker.name} is unresponsive`
        })
        await worker.stop({ kind: 'node-lost' })
        store.updatePod(worker.namespace, worker.name, (pod) => {
          pod.status.phase = 'Failed'
          for (const status of [
            ...(pod.status.initContainerStatuses ?? []),
            ...(pod.status.containerStatuses ?? []),
          ]) {
            if (status.state.terminated?.reason === 'Completed' && status.state.terminated.exitCode === 0)
              continue
            const current = findContainerStatus(pod, status.name)
            if (!current) continue
            current.ready = false
            current.state = {
              terminated: {
                exitCode: 137,
                reason: 'ContainerStatusUnknown',
                message: 'The container could not be located when the pod was terminated',
                finishedAt: now(),
              },
            }
          }
        })
        if (options.deletePods) {
          this.workers.delete(`${worker.namespace}/${worker.name}`)
          await worker.removeVolumes()
          store.removePod(worker.namespace, worker.name)
        }
      }),
    )
  }

  /** The node is back: pods left Pending as unschedulable are scheduled again. */
  restoreNode(): void {
    this.settings.node.ready = true
    for (const worker of this.workers.values()) if (worker.unscheduled) worker.start()
  }

  async close(): Promise<void> {
    const workers = [...this.workers.values()]
    this.workers.clear()
    await Promise.all([...workers.map((w) => w.stop({ kind: 'shutdown' })), ...this.deletions])
    await Promise.all(workers.map((w) => w.removeVolumes()))
  }
}

function markDeleting(store: KubeletSettings['store'], namespace: string, name: string, grace: number): void {
  store.updatePod(namespace, name, (p) => {
    p.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
    p.metadata.deletionGracePeriodSeconds = grace
  })
}
