import { fileURLToPath } from 'node:url'
import { measureWithPeer } from './peer-measure.js'
import { fixed } from './table.js'
import { withXComBench } from './xcom-stores.js'

const RUN = fileURLToPath(new URL('./large-xcom-run.ts', import.meta.url))
/** The size: a 100 MB value from one inline task to the next. */
export const LARGE_XCOM_BYTES = 100_000_000

export interface LargeXComMeasure {
  store: 'file' | 's3'
  ms: number
  /** The same bytes put and read back through the store alone, in the same process. */
  peerMs: number
  rowBytes: number
  peakRssMb: number
  /** The peer's peak RSS: the value's bytes twice (written, read back) and the SDK. */
  peerRssMb: number
}

/** A 100 MB value from an inline task to a downstream one, through a folder and an S3 API server. */
export async function measureLargeXComs(bytes = LARGE_XCOM_BYTES): Promise<LargeXComMeasure[]> {
  return withXComBench('bench', async ({ databaseUrl, file, s3 }) => {
    const measures: LargeXComMeasure[] = []
    // One after the other, and asynchronously: the S3 server runs in this process's event loop.
    for (const [store, { url, env }] of [
      ['file', file],
      ['s3', s3],
    ] as const) {
      const { peer, podline } = await measureWithPeer<{ ms: number; rowBytes: number; peakRssMb: number }>({
        script: RUN,
        args: [url, String(bytes)],
        env: { ...env, DATABASE_URL: databaseUrl },
        what: store,
      })
      measures.push({ store, ...podline, peerMs: peer.ms, peerRssMb: peer.peakRssMb })
    }
    return measures
  })
}

export function largeXComRows(measures: LargeXComMeasure[], bytes = LARGE_XCOM_BYTES): string[][] {
  const mb = bytes / 1e6
  return measures.map((m) => [
    `${fixed(mb)} MB value, inline task → downstream, ${m.store} store`,
    `${fixed(m.ms)} ms (${fixed(mb / (m.ms / 1000), 1)} MB/s), peak RSS ${fixed(m.peakRssMb)} MiB, row ${m.rowBytes} B`,
    `${fixed(m.peerMs)} ms, ${fixed(m.peerRssMb)} MiB (put + get alone)`,
    `${fixed(m.ms / m.peerMs, 1)}× the store alone; RSS ${fixed(m.peakRssMb / mb, 1)}× the value`,
  ])
}
