import { createHash } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { dirname } from 'node:path'
import { Transform, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { TaskFailure } from '../engine/task-failure.js'
import type { ReportedUpload } from '../xcom-store/pod-transfers.js'
import { redactPresignedUrls, type TransferTarget } from '../xcom-store/transfer-target.js'
import { assertRegularFile, notRegularFile } from './result-file.js'
import { XCOM_FRAME_LIMIT_BYTES } from './sidecar-script.js'
import { assertWithinLimit, type ResultChecks } from './xcom-value.js'

/**
 * The process runtime's sidecar for a result over the log frame's limit: writes the result file to
 * the upload target (the store's folder, or a presigned PUT) as it reads it, hashing on the way, and
 * returns what it wrote for the worker to check against the stored object. `undefined` when the
 * file is absent or small enough for the ordinary read. The file is the task's, so hostile: as in
 * readResultFile, only a regular file is read, never followed through a symlink.
 */
export async function uploadResultFile(
  path: string,
  checks: ResultChecks,
  store: { readonly location: string; readonly limitBytes: number },
  target: () => Promise<TransferTarget>,
): Promise<{ uploaded?: ReportedUpload; hint?: string }> {
  const { limitBytes } = store
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined
    throw error
  })
  if (!info || info.size <= XCOM_FRAME_LIMIT_BYTES) return {}
  assertRegularFile(info, checks.task)
  const to = await target()
  if (to.kind === 'unavailable') return { hint: to.reason }
  assertWithinLimit(info.size, { ...checks, sizeLimitBytes: limitBytes })
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
  const handle = await open(path, flags).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ELOOP' ? notRegularFile('a symbolic link', checks.task) : error
  })
  try {
    const stat = await handle.stat()
    assertRegularFile(stat, checks.task)
    const hash = createHash('sha256')
    let size = 0
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk)
        size += chunk.length
        done(null, chunk)
      },
    })
    // What the file held when it was measured: a file that grows meanwhile is not read past it.
    const body = handle.createReadStream({ start: 0, end: Math.max(0, stat.size - 1), autoClose: false })
    if (to.kind === 'path') {
      const partial = `${to.path}.${process.pid}.partial`
      await mkdir(dirname(to.path), { recursive: true })
      try {
        await pipeline(body, hashing, createWriteStream(partial))
        await rename(partial, to.path)
      } catch (error) {
        await rm(partial, { force: true })
        throw error
      }
    } else {
      await putToUrl(to.url, stat.size, (out) => pipeline(body, hashing, out)).catch((error: unknown) => {
        // A connection that fails names only an address (ECONNREFUSED 127.0.0.1:9): say which store it was.
        throw new TaskFailure(
          `writing the result of pod task "${checks.task}" to the XCom store ${store.location} failed: ${redactPresignedUrls((error as Error).message)}`,
          'infra',
          { cause: error },
        )
      })
    }
    return { uploaded: { size, sha256: hash.digest('hex') } }
  } finally {
    await handle.close()
  }
}

/**
 * A PUT of `length` bytes to a presigned URL. node:http, not fetch: S3 wants a Content-Length on a
 * presigned PUT, and fetch sends a streamed body chunked.
 */
async function putToUrl(url: string, length: number, send: (out: Writable) => Promise<void>): Promise<void> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest
  const req = request(url, { method: 'PUT', headers: { 'content-length': String(length) } })
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (body.length < 2000) body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    })
    req.on('error', reject)
  })
  const [{ status, body }] = await Promise.all([response, send(req)])
  if (status < 200 || status >= 300) throw new Error(`HTTP ${status} ${body.slice(0, 300)}`)
}
