import { CoreV1Api, Exec, KubeConfig, Log, Watch } from '@kubernetes/client-node'

/** How the worker reaches the cluster. */
export interface KubeOptions {
  /** A kubeconfig file. Default: `KUBECONFIG`, then `~/.kube/config`, then the in-cluster service account. */
  kubeconfig?: string
  /** A context of the kubeconfig other than its current one. */
  context?: string
  /** Namespace of pods whose spec names none. Default: the context's namespace, else `default`. */
  namespace?: string
  /** Use the pod's service account (when the worker runs in the cluster), ignoring any kubeconfig. */
  inCluster?: boolean
}

/** client-node's clients for one cluster, built once per executor. */
export interface KubeClient {
  readonly config: KubeConfig
  readonly core: CoreV1Api
  readonly watch: Watch
  readonly log: Log
  readonly exec: Exec
  /** The namespace of pods whose spec and template name none. */
  readonly namespace: string
}

export function createKubeClient(options: KubeOptions = {}): KubeClient {
  const config = new KubeConfig()
  if (options.inCluster) config.loadFromCluster()
  else if (options.kubeconfig !== undefined) config.loadFromFile(options.kubeconfig)
  else config.loadFromDefault()
  if (options.context !== undefined) {
    if (!config.getContextObject(options.context)) {
      const known = config.getContexts().map((c) => c.name)
      throw new Error(
        `kubeconfig has no context ${JSON.stringify(options.context)} (it has ${known.join(', ') || 'none'}); ` +
          'pick one of those or fix the kube.context option',
      )
    }
    config.setCurrentContext(options.context)
  }
  if (!config.getCurrentCluster()) {
    throw new Error(
      'no Kubernetes cluster configured: set KUBECONFIG, pass kube.kubeconfig, or run the worker in a cluster with inCluster: true',
    )
  }
  const contextNamespace = config.getContextObject(config.getCurrentContext())?.namespace
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    watch: new Watch(config),
    log: new Log(config),
    exec: new Exec(config),
    namespace: options.namespace ?? (contextNamespace?.trim() || 'default'),
  }
}
