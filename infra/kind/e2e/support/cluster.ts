import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import type { KubeDouble } from '@podline/kube-double'
import type { ScratchDatabase } from '@podline/runner/testing'
import { afterAll } from 'vitest'

/**
 * What the script that made the cluster hands the suite through the environment: infra/kind/e2e.sh
 * for kind, infra/cluster/test.sh for the cluster built from source on this machine. Without one,
 * the Kubernetes double of packages/kube-double stands in (`E2eTarget`).
 */
export interface E2eSettings {
  kubeconfig: string
  context: string | undefined
  /**
   * A PostgreSQL the worker processes on this machine reach; the multi-worker scenarios need it. On
   * the double, the file's fresh database when it asked for one, which its runs' rows go to as well.
   */
  databaseUrl: string | undefined
  /** Our sidecar image, loaded into the cluster; the XCom round trip also runs with it. */
  sidecarImage: string | undefined
  /**
   * The image task pods run, and the sidecar image of tasks that name none: any image with a POSIX
   * `sh` and the usual utilities (head, tr, sha256sum, base64), present on the node.
   */
  shellImage: string
  /** An image reference no registry serves: pulling it must fail, and fail on this machine. */
  absentImage: string
  /**
   * An address of this machine that pods reach too (infra/cluster: the host's address on the pod
   * bridge): a server the suite starts there serves the worker and the pods alike. Unset, the
   * scenarios that need one (the XCom store's presigned upload) are skipped.
   */
  hostAddress: string | undefined
  /**
   * A kustomization of the shipped manifests for this cluster (infra/cluster/overlay: the dev
   * overlay with the local images and the host's database), the kubectl that applies it, and that
   * database's URL as this machine reaches it: all three set, the suite runs the worker Deployment.
   */
  deploymentOverlay: string | undefined
  kubectl: string
  inClusterDatabaseUrl: string | undefined
  /**
   * A command (run with `sh -c`) that restarts the cluster's API server and returns once it is
   * ready again: infra/cluster/restart-apiserver.sh. Unset, the restart scenario is skipped.
   */
  restartApiServer: string | undefined
  /** The workers' ServiceAccount (infra/k8s/base) and the namespace its Role covers. */
  worker: { namespace: string; serviceAccount: string; tasksNamespace: string }
  core: CoreV1Api
}

/**
 * What the scenarios run against: a real cluster, or, when none is configured, a Kubernetes double
 * started for the test file (`npm test`), whose pods are processes on this machine. A scenario the
 * double cannot express is skipped there, saying what the double lacks (`clusterOnly`).
 */
export type E2eTarget = { kind: 'cluster' } | { kind: 'double'; double: KubeDouble }

export type E2eCluster = E2eSettings & E2eTarget

/**
 * Image defaults: what infra/cluster provides (built on the machine, imported into containerd).
 * infra/kind/e2e.sh sets them to public images that kind pulls or loads.
 */
export const DEFAULT_SHELL_IMAGE = 'podline.local/shell:1'
export const DEFAULT_ABSENT_IMAGE = 'podline.local/absent:1'

export type Probe = { ok: true; cluster: E2eCluster } | { ok: false; reason: string }

const PROBE_TIMEOUT_MS = 3000

export interface ProbeOptions {
  env?: NodeJS.ProcessEnv
  /** On the double, a fresh database of the file's own as `databaseUrl` (see `runStore`). */
  database?: boolean
}

/**
 * The cluster the file's scenarios run against. PODLINE_E2E_KUBECONFIG unset: a Kubernetes double
 * started for the file, closed after its last test. An unreachable cluster skips the suite with the
 * reason; e2e.sh and test.sh set PODLINE_E2E_REQUIRED so that there a missing or unreachable
 * cluster fails instead. Call it at the top of a test file: it registers the file's cleanup.
 */
export async function probeCluster(options: ProbeOptions = {}): Promise<Probe> {
  const env = options.env ?? process.env
  if (!env.PODLINE_E2E_KUBECONFIG && env.PODLINE_E2E_REQUIRED !== '1')
    return startDouble(env, options.database === true)
  const probe = await reach(env)
  if (!probe.ok && env.PODLINE_E2E_REQUIRED === '1') throw new Error(`e2e cluster required: ${probe.reason}`)
  return probe
}

async function reach(env: NodeJS.ProcessEnv): Promise<Probe> {
  const kubeconfig = env.PODLINE_E2E_KUBECONFIG
  if (!kubeconfig)
    return {
      ok: false,
      reason: 'PODLINE_E2E_KUBECONFIG is not set (npm run test:cluster or infra/kind/e2e.sh sets it)',
    }
  const k8s = await import('@kubernetes/client-node')
  const kc: KubeConfig = new k8s.KubeConfig()
  try {
    kc.loadFromFile(kubeconfig)
    if (env.PODLINE_E2E_CONTEXT) kc.setCurrentContext(env.PODLINE_E2E_CONTEXT)
  } catch (error) {
    return { ok: false, reason: `cannot load ${kubeconfig}: ${(error as Error).message}` }
  }
  const server = kc.getCurrentCluster()?.server ?? 'no server'
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS)
  })
  try {
    await Promise.race([kc.makeApiClient(k8s.VersionApi).getCode(), timeout])
  } catch (error) {
    // client-node's errors carry the response body on further lines; the reason stays one line.
    const [message] = (error as Error).message.split('\n')
    return { ok: false, reason: `the Kubernetes API at ${server} does not answer: ${message}` }
  } finally {
    clearTimeout(timer)
  }
  return {
    ok: true,
    cluster: {
      kind: 'cluster',
      kubeconfig,
      context: env.PODLINE_E2E_CONTEXT,
      databaseUrl: env.PODLINE_E2E_DATABASE_URL,
      sidecarImage: env.PODLINE_E2E_SIDECAR_IMAGE,
      shellImage: env.PODLINE_E2E_SHELL_IMAGE || DEFAULT_SHELL_IMAGE,
      absentImage: env.PODLINE_E2E_ABSENT_IMAGE || DEFAULT_ABSENT_IMAGE,
      hostAddress: env.PODLINE_E2E_HOST_ADDRESS || undefined,
      deploymentOverlay: env.PODLINE_E2E_DEPLOYMENT_OVERLAY || undefined,
      kubectl: env.PODLINE_E2E_KUBECTL || 'kubectl',
      inClusterDatabaseUrl: env.PODLINE_E2E_IN_CLUSTER_DATABASE_URL || undefined,
      restartApiServer: env.PODLINE_E2E_RESTART_APISERVER || undefined,
      worker: workerIdentity(env),
      core: kc.makeApiClient(k8s.CoreV1Api),
    },
  }
}

/**
 * A Kubernetes double for the test file, with a fresh database when asked: both go after the file's
 * last test, in reverse order. The double runs a container's command on this machine whatever its
 * image names, so the shell image is this machine's `sh` and utilities, and servers on 127.0.0.1
 * serve the worker and the pods alike. Only the absent image is refused, as a failed pull.
 */
async function startDouble(env: NodeJS.ProcessEnv, database: boolean): Promise<Probe> {
  const [{ startKubeDouble }, { freshDatabase }, k8s] = await Promise.all([
    import('@podline/kube-double'),
    import('@podline/runner/testing'),
    import('@kubernetes/client-node'),
  ])
  const double = await startKubeDouble({ missingImages: [DEFAULT_ABSENT_IMAGE] })
  let scratch: ScratchDatabase | undefined
  afterAll(async () => {
    await scratch?.drop()
    await double.close()
  })
  if (database) scratch = await freshDatabase('podline_e2e')
  const kc = new k8s.KubeConfig()
  kc.loadFromFile(double.kubeconfigPath)
  return {
    ok: true,
    cluster: {
      kind: 'double',
      double,
      kubeconfig: double.kubeconfigPath,
      context: undefined,
      databaseUrl: scratch?.url,
      sidecarImage: undefined,
      shellImage: DEFAULT_SHELL_IMAGE,
      absentImage: DEFAULT_ABSENT_IMAGE,
      hostAddress: '127.0.0.1',
      deploymentOverlay: undefined,
      kubectl: 'kubectl',
      inClusterDatabaseUrl: undefined,
      restartApiServer: undefined,
      worker: workerIdentity(env),
      core: kc.makeApiClient(k8s.CoreV1Api),
    },
  }
}

function workerIdentity(env: NodeJS.ProcessEnv): E2eSettings['worker'] {
  return {
    namespace: env.PODLINE_E2E_WORKER_NAMESPACE || 'podline',
    serviceAccount: env.PODLINE_E2E_WORKER_SERVICE_ACCOUNT || 'podline-worker',
    tasksNamespace: env.PODLINE_E2E_TASKS_NAMESPACE || 'podline-tasks',
  }
}

/**
 * The probe, or a failed one when the cluster lacks what a scenario needs: `lacks` says what is
 * missing (and who sets it), or undefined when nothing is.
 */
export function requiring(probe: Probe, lacks: (cluster: E2eCluster) => string | undefined): Probe {
  if (!probe.ok) return probe
  const reason = lacks(probe.cluster)
  return reason === undefined ? probe : { ok: false, reason }
}

/**
 * For `requiring`: a scenario the double cannot express, skipped there with `lacks`, which names
 * what the double lacks (and a real cluster has).
 */
export function clusterOnly(lacks: string): (cluster: E2eCluster) => string | undefined {
  return (cluster) => (cluster.kind === 'double' ? `cluster only: ${lacks}` : undefined)
}

/** A describe title that carries the skip reason, and the same reason once on stderr. */
export function title(name: string, probe: Probe): string {
  if (probe.ok) return name
  console.warn(`${name}: skipped: ${probe.reason}`)
  return `${name} (skipped: ${probe.reason})`
}

/** Where a file's scenarios run, for its describe title: `on a real cluster` or `on the Kubernetes double`. */
export function whereItRuns(probe: Probe): string {
  return probe.ok && probe.cluster.kind === 'double' ? 'on the Kubernetes double' : 'on a real cluster'
}

/** The cluster inside a test or hook, which only run when the probe succeeded. */
export function clusterOf(probe: Probe): E2eCluster {
  if (!probe.ok) throw new Error(`no e2e cluster: ${probe.reason}`)
  return probe.cluster
}
