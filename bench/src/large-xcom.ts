import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { startS3Server } from '@podline/runner/testing'
import { podlineDatabase } from './databases.js'
import { fixed } from './table.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs')
const run = promisify(execFile)
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
  const db = await podlineDatabase()
  const s3 = await startS3Server('bench')
  const folder = mkdtempSync(join(tmpdir(), 'podline-bench-xcoms-'))
  try {
    const stores = [
      { store: 'file' as const, url: pathToFileURL(folder).href, env: {} },
      {
        store: 's3' as const,
        url: `s3://${s3.bucket}/bench`,
        env: { ...s3.env, PODLINE_S3_ENDPOINT: s3.endpoint },
      },
    ]
    const measures: LargeXComMeasure[] = []
    // One after the other, and asynchronously: the S3 server runs in this process's event loop.
    for (const { store, url, env } of stores) {
      const measure = async (peer: boolean) => {
        const r = await run(process.execPath, [TSX, RUN, url, String(bytes)], {
          env: { ...process.env, ...env, DATABASE_URL: db.url, PEER: peer ? '1' : '0' },
          cwd: ROOT,
        }).catch((error: { stderr?: string; message: string }) => {
          throw new Error(`the ${store} measure failed: ${(error.stderr ?? error.message).slice(-2000)}`)
        })
        return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
          ms: number
          rowBytes: number
          peakRssMb: number
        }
      }
      const peer = await measure(true)
      const podline = await measure(false)
      measures.push({ store, ...podline, peerMs: peer.ms, peerRssMb: peer.peakRssMb })
    }
    return measures
  } finally {
    rmSync(folder, { recursive: true, force: true })
    await s3.close()
    await db.drop()
  }
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
