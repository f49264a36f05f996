import type { ServerResponse } from 'node:http'
import type { AdmissionFaults } from '../api/admission-faults.js'
import type { ResourceStore } from '../api/resource-store.js'
import type { Kubelet } from '../kubelet/kubelet.js'

/** What the request handlers share. */
export interface DoubleContext {
  readonly store: ResourceStore
  readonly kubelet: Kubelet
  readonly admission: AdmissionFaults
  readonly bookmarkIntervalMs: number
  /** Open watch responses, so `faults.dropWatches()` and `close()` can end them. */
  readonly openWatches: Set<ServerResponse>
  /** Open follow log responses, so `faults.dropLogStreams()` and `close()` can end them. */
  readonly openLogs: Set<ServerResponse>
  /** Labels of the namespaces that have any (Pod Security admission reads `pod-security.kubernetes.io/enforce`). */
  readonly namespaceLabels: Map<string, Record<string, string>>
}
