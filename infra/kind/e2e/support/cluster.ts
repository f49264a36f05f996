import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node'

/** What infra/kind/e2e.sh hands the suite through the environment. */
export interface E2eCluster {
  kubeconfig: string
  context: string | undefined
  /** The cluster's PostgreSQL, port-forwarded; the multi-worker scenarios need it. */
  databaseUrl: string | undefined
  /** Our sidecar image, loaded into the cluster; the XCom round trip also runs with it. */
  sidecarImage: string | undefined
  core: CoreV1Api
}

export type Probe = { ok: true; cluster: E2eCluster } | { ok: false; reason: string }

const PROBE_TIMEOUT_MS = 3000

/**
 * Whether a cluster answers. Without one the suite skips with the reason; e2e.sh sets
 * PODLINE_E2E_REQUIRED so that there an unreachable cluster fails instead.
 */
export async function probeCluster(env: NodeJS.ProcessEnv = process.env): Promise<Probe> {
  const probe = await reach(env)
  if (!probe.ok && env.PODLINE_E2E_REQUIRED === '1') throw new Error(`e2e cluster required: ${probe.reason}`)
  return probe
}

async function reach(env: NodeJS.ProcessEnv): Promise<Probe> {
  const kubeconfig = env.PODLINE_E2E_KUBECONFIG
  if (!kubeconfig)
    return { ok: false, reason: 'PODLINE_E2E_KUBECONFIG is not set (infra/kind/e2e.sh sets it)' }
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
      kubeconfig,
      context: env.PODLINE_E2E_CONTEXT,
      databaseUrl: env.PODLINE_E2E_DATABASE_URL,
      sidecarImage: env.PODLINE_E2E_SIDECAR_IMAGE,
      core: kc.makeApiClient(k8s.CoreV1Api),
    },
  }
}

/** A describe title that carries the skip reason, and the same reason once on stderr. */
export function title(name: string, probe: Probe): string {
  if (probe.ok) return name
  console.warn(`${name}: skipped: ${probe.reason}`)
  return `${name} (skipped: ${probe.reason})`
}

/** The cluster inside a test or hook, which only run when the probe succeeded. */
export function clusterOf(probe: Probe): E2eCluster {
  if (!probe.ok) throw new Error(`no e2e cluster: ${probe.reason}`)
  return probe.cluster
}
