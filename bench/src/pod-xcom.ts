import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { startKubeDouble } from '@podline/kube-double'
import { startS3Server } from '@podline/runner/testing'
import { podlineDatabase } from './databases.js'
import { LARGE_XCOM_BYTES } from './large-xcom.js'
import { fixed } from './table.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs')
const run = promisify(execFile)
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
  const db = await podlineDatabase()
  const s3 = await startS3Server('bench-pods')
  const double = await startKubeDouble()
  const folder = mkdtempSync(join(tmpdir(), 'podline-bench-pod-xcoms-'))
  try {
    const routes = [
      {
        route: 'process runtime, file store' as const,
        runtime: 'process',
        url: pathToFileURL(folder).href,
        env: {},
      },
      {
        route: 'Kubernetes double, S3 store' as const,
        runtime: 'kubernetes',
        url: `s3://${s3.bucket}/bench`,
        env: { ...s3.env, PODLINE_S3_ENDPOINT: s3.endpoint, KUBECONFIG: double.kubeconfigPath },
      },
    ]
    const measures: PodXComMeasure[] = []
    // One after the other, and asynchronously: the S3 server and the double run in this event loop.
    for (const { route, runtime, url, env } of routes) {
      const measure = async (peer: boolean) => {
        const r = await run(process.execPath, [TSX, RUN, runtime, url, String(bytes)], {
          env: { ...process.env, ...env, DATABASE_URL: db.url, PEER: peer ? '1' : '0' },
          cwd: ROOT,
          maxBuffer: 16 * 1024 * 1024,
        }).catch((error: { stderr?: string; message: string }) => {
          throw new Error(`the ${route} measure failed: ${(error.stderr ?? error.message).slice(-2000)}`)
        })
        return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { ms: number; peakRssMb: number }
      }
      const peer = await measure(true)
      const podline = await measure(false)
      measures.push({ route, ms: podline.ms, peakRssMb: podline.peakRssMb, peerMs: peer.ms })
    }
    return measures
  } finally {
    rmSync(folder, { recursive: true, force: true })
    await double.close()
    await s3.close()
    await db.drop()
  }
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
