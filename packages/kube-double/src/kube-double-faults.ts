import type {
  AdmissionFaults,
  RbacDenial,
  RequestFailure,
  ResourceQuotaRule,
} from './api/admission-faults.js'
import type { ResourceStore } from './api/resource-store.js'
import type { DoubleContext } from './http/double-context.js'
import type { Kubelet } from './kubelet/kubelet.js'

/** Faults to inject into a running double. */
export interface KubeDoubleFaults {
  /** Fails the next matching requests with a real Status body (429 with Retry-After). */
  failNext(failure: RequestFailure): void
  /** A namespace ResourceQuota: creating a pod whose containers (init ones too) lack the listed resources is a 403. */
  addResourceQuota(rule: ResourceQuotaRule): void
  /** The service account lacks an RBAC rule: matching requests are a 403 naming the user, verb and resource. */
  denyRbac(denial: RbacDenial): void
  /** The kubelet's node-pressure eviction of a running pod: Failed, reason Evicted, kept until deleted. */
  evict(namespace: string, name: string, message?: string): Promise<void>
  /** The node stops reporting: its pods end Failed with reason NodeLost and are deleted (unless `deletePods: false`). */
  loseNode(options?: { deletePods?: boolean }): Promise<void>
  /** The node comes back; pods left unschedulable are scheduled. */
  restoreNode(): void
  /** Compacts the watch history: resuming a watch from any earlier resourceVersion gets 410 Expired. */
  expireWatches(): void
  /** Ends every open watch connection, as an API server restart or a load balancer timeout does. */
  dropWatches(): void
  /** The kubelet rotates a container's log file: later reads serve only newer lines; open follow streams go on. */
  rotateLog(namespace: string, name: string, container: string): void
  /** Cuts every open follow log stream, as an API server restart does (the client sees the connection drop). */
  dropLogStreams(): void
  /** Kills a running container as the OOM killer would (SIGKILL, reason OOMKilled, exit code 137). */
  oomKill(namespace: string, name: string, container?: string): void
  /** Removes the request failures, quotas and RBAC denials. */
  clear(): void
}

export function createFaults(
  ctx: DoubleContext,
  admission: AdmissionFaults,
  kubelet: Kubelet,
  store: ResourceStore,
): KubeDoubleFaults {
  return {
    failNext: (failure) => admission.failNext(failure),
    addResourceQuota: (rule) => admission.addResourceQuota(rule),
    denyRbac: (denial) => admission.denyRbac(denial),
    evict: async (namespace, name, message) => {
      if (!(await kubelet.evict(namespace, name, message)))
        throw new Error(`evict: no pod ${namespace}/${name} on the node`)
    },
    loseNode: (options = {}) => kubelet.loseNode({ deletePods: options.deletePods ?? true }),
    restoreNode: () => kubelet.restoreNode(),
    expireWatches: () => store.compact(),
    dropWatches: () => {
      for (const response of ctx.openWatches) response.destroy()
    },
    dropLogStreams: () => {
      for (const response of ctx.openLogs) response.destroy()
    },
    rotateLog: (namespace, name, container) => {
      const log = kubelet.worker(namespace, name)?.logs.get(container)
      if (!log) throw new Error(`rotateLog: no log of container ${container} in pod ${namespace}/${name}`)
      log.rotate()
    },
    oomKill: (namespace, name, container) => {
      if (!kubelet.oomKill(namespace, name, container)) {
        throw new Error(
          `oomKill: no running container${container ? ` ${container}` : ''} in pod ${namespace}/${name}`,
        )
      }
    },
    clear: () => admission.clear(),
  }
}
