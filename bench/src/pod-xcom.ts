import { fileURLToPath } from 'node:url'
import { startKubeDouble } from '@podline/kube-double'
import { LARGE_XCOM_BYTES } from './large-xcom.js'
import { measureWithPeer } from './peer-measure.js'
import { fixed } from './table.js'
import { withXComBench } from './xcom-stores.js'

const RUN = fileURLToPath(new URL('./pod-xcom-run.ts', import.meta.url))

export interface PodXComMeasure {
  route: 'process runtime, file store' | 'Kubernetes double, S3 store'
  ms: number
  /** The pod's own work without Podline: write the file, sha256sum it, cp or curl it to the store. */
  peerMs: number
  /** The worker's peak RSS (the double and the S3 server run in the bench's process). */
  peakRssMb: number
}

/**
 * A pod's 100 MB return.json straight to the XCom store: under the process runtime into a folder,
 * on the Kubernetes double (real processes, the sidecar's curl) through a presigned PUT to an S3 API
 * server; the worker checks size and sha256 of the stored object, and so does the measure.
 */
export async function measurePodXComs(bytes = LARGE_XCOM_BYTES): Promise<PodXComMeasure[]> {
  return withXComBench('bench-pods', async ({ databaseUrl, file, s3 }) => {
    const double = await startKubeDouble()
    try {
      const routes = [
        { route: 'process runtime, file store' as const, runtime: 'process', store: file },
        {
          route: 'Kubernetes double, S3 store' as const,
          runtime: 'kubernetes',
          store: { ...s3, env: { ...s3.env, KUBECONFIG: double.kubeconfigPath } },
        },
      ]
      const measures: PodXComMeasure[] = []
      // One after the other, and asynchronously: the S3 server and the double run in this event loop.
      for (const { route, runtime, store } of routes) {
        const { peer, podline } = await measureWithPeer<{ ms: number; peakRssMb: number }>({
          script: RUN,
          args: [runtime, store.url, String(bytes)],
          env: { ...store.env, DATABASE_URL: databaseUrl },
          what: route,
        })
        measures.push({ route, ms: podline.ms, peakRssMb: podline.peakRssMb, peerMs: peer.ms })
      }
      return measures
    } finally {
      await double.close()
    }
  })
}

export function podXComRows(measures: PodXComMeasure[], bytes = LARGE_XCOM_BYTES): string[][] {
  const mb = bytes / 1e6
  return measures.map((m) => [
    `${fixed(mb)} MB pod return.json, ${m.route}, sha256 checked`,
    `${fixed(m.ms)} ms (${fixed(mb / (m.ms / 1000), 1)} MB/s), worker peak RSS ${fixed(m.peakRssMb)} MiB`,
    `${fixed(m.peerMs)} ms (the pod's shell alone: write, sha256sum, ${m.route.startsWith('process') ? 'cp' : 'curl PUT'})`,
    `${fixed(m.ms / m.peerMs, 1)}× the shell alone; RSS ${fixed(m.peakRssMb / mb, 2)}× the value`,
  ])
}
