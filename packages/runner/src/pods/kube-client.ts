import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { CoreV1Api, Exec, KubeConfig, Log, Watch } from '@kubernetes/client-node'
import { TaskFailure } from '../engine/task-failure.js'

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
  else {
    // With none of its sources, client-node quietly falls back to http://localhost:8080, and every
    // pod task then retries against nothing and fails with an HTTP protocol error.
    assertSomeKubeconfig()
    config.loadFromDefault()
  }
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

/** Where client-node's loadFromDefault looks, in its order (KUBECONFIG, ~/.kube/config, in-cluster). */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'

function assertSomeKubeconfig(): void {
  if (process.env.KUBECONFIG?.trim()) return
  const home = join(homedir(), '.kube', 'config')
  if (existsSync(home) || existsSync(SERVICE_ACCOUNT_TOKEN)) return
  throw new TaskFailure(
    `no kubeconfig found: KUBECONFIG is not set, ${home} does not exist, and this is not a pod in a cluster ` +
      `(no ${SERVICE_ACCOUNT_TOKEN}). Point KUBECONFIG at your cluster's kubeconfig, or run pod tasks as ` +
      'local processes: `podline run <file> --runtime process` (PODLINE_RUNTIME=process for `podline worker`, ' +
      "runtime: 'process' for runLocal)",
    'fatal',
  )
}
