export type { RbacDenial, RequestFailure, ResourceQuotaRule } from './api/admission-faults.js'
export type { RequestAttributes, RequestCounts } from './api/request-counter.js'
export type { Route } from './http/parse-route.js'
export { parseRoute } from './http/parse-route.js'
export type { KubeDouble, KubeDoubleOptions } from './kube-double.js'
export { startKubeDouble } from './kube-double.js'
export type { KubeDoubleFaults } from './kube-double-faults.js'
export type { FakeNode } from './kubelet/fake-node.js'
export type { ContainerSimulation, SimulatedContainer } from './kubelet/simulated-container.js'
export type {
  ContainerJson,
  ContainerState,
  ContainerStatusJson,
  EventJson,
  PodCondition,
  PodJson,
  StatusJson,
} from './wire-types.js'
