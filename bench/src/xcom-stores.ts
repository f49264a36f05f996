import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { startS3Server } from '@podline/runner/testing'
import { podlineDatabase } from './databases.js'

/** An XCom store as a run is pointed at it: PODLINE_XCOM_STORE's URL and what else its environment needs. */
export interface XComStoreTarget {
  readonly url: string
  readonly env: Record<string, string>
}

/** What the XCom measures run against: a fresh database, and the two stores they compare. */
export interface XComBench {
  readonly databaseUrl: string
  /** A fresh folder. */
  readonly file: XComStoreTarget
  /** An S3 API server in this process, with one bucket. */
  readonly s3: XComStoreTarget
}

/** Runs `body` on a fresh {@link XComBench} (its S3 bucket named `bucket`), removed after it. */
export async function withXComBench<T>(bucket: string, body: (bench: XComBench) => Promise<T>): Promise<T> {
  const db = await podlineDatabase()
  const s3 = await startS3Server(bucket)
  const folder = mkdtempSync(join(tmpdir(), `podline-${bucket}-xcoms-`))
  try {
    return await body({
      databaseUrl: db.url,
      file: { url: pathToFileURL(folder).href, env: {} },
      s3: { url: `s3://${s3.bucket}/bench`, env: { ...s3.env, PODLINE_S3_ENDPOINT: s3.endpoint } },
    })
  } finally {
    rmSync(folder, { recursive: true, force: true })
    await s3.close()
    await db.drop()
  }
}
