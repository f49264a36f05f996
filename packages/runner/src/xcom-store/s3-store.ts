import type { Readable } from 'node:stream'
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { storeFailure, type XComStore } from './xcom-store.js'

/** How long one call to the store may take, retries included, unless the settings say otherwise. */
export const DEFAULT_S3_TIMEOUT_MS = 120_000
/** A connection that takes longer than this to open is abandoned (and retried by the SDK). */
const CONNECT_TIMEOUT_MS = 5_000
/** A socket with no byte either way for this long is dropped: a server that accepted and hangs. */
const IDLE_TIMEOUT_MS = 30_000

/**
 * An S3 bucket (or any S3 API: MinIO, R2, GCS interoperability) as an XCom store, through the AWS
 * SDK, which reads the region and credentials from the standard AWS environment and files. Every
 * call has a deadline (`timeoutMs`): an endpoint that accepts connections and never answers fails
 * the call with the store's name instead of holding the attempt forever.
 */
export function openS3Store(url: URL, options: { s3Endpoint?: string; timeoutMs?: number }): XComStore {
  const timeoutMs = options.timeoutMs ?? DEFAULT_S3_TIMEOUT_MS
  const bucket = url.hostname
  const prefix = url.pathname.replace(/^\/+/, '').replace(/\/*$/, '')
  const location = `s3://${bucket}${prefix ? `/${prefix}` : ''}`
  const client = new S3Client({
    ...(options.s3Endpoint ? { endpoint: options.s3Endpoint, forcePathStyle: true } : {}),
    // The SDK requires a region even when the endpoint names the server.
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    requestHandler: {
      connectionTimeout: Math.min(CONNECT_TIMEOUT_MS, timeoutMs),
      socketTimeout: Math.min(IDLE_TIMEOUT_MS, timeoutMs),
    },
  })
  // The SDK's own timeouts bound one request and an idle body; this bounds the call, retries included.
  const deadline = () => ({ abortSignal: AbortSignal.timeout(timeoutMs) })
  const full = (key: string) => (prefix ? `${prefix}/${key}` : key)
  const failed = (what: string, error: unknown) => storeFailure(location, what, error)
  return {
    location,
    async put(key, body) {
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: full(key), Body: body }), deadline())
      } catch (error) {
        throw failed(`writing ${key}`, error)
      }
    },
    async get(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: full(key) }), deadline())
        return Buffer.from(
          await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        )
      } catch (error) {
        throw failed(`reading ${key}`, error)
      }
    },
    async stream(key) {
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: full(key) }), deadline())
        return out.Body as Readable
      } catch (error) {
        throw failed(`reading ${key}`, error)
      }
    },
    async transferTarget(key, access, expiresInSeconds) {
      let sessionToken: string | undefined
      try {
        sessionToken = (await client.config.credentials()).sessionToken
      } catch (error) {
        throw failed(`signing a URL for ${key}`, error)
      }
      if (sessionToken) {
        // A presigned URL made with temporary credentials carries their session token in its query:
        // in a pod's env, that would put a credential in the pod spec.
        return {
          kind: 'unavailable',
          reason:
            "the worker's S3 credentials are temporary (they have a session token), and a presigned URL would carry that token into the pod spec; " +
            'give the worker long-term S3 credentials (an access key) to let pods read and write the store',
        }
      }
      const params = { Bucket: bucket, Key: full(key) }
      try {
        const url = await getSignedUrl(
          client,
          access === 'put' ? new PutObjectCommand(params) : new GetObjectCommand(params),
          { expiresIn: expiresInSeconds },
        )
        return { kind: 'url', url, expiresAt: new Date(Date.now() + expiresInSeconds * 1000) }
      } catch (error) {
        throw failed(`signing a URL for ${key}`, error)
      }
    },
    async delete(keys) {
      // DeleteObjects takes at most 1,000 keys a request.
      for (let i = 0; i < keys.length; i += 1000) {
        const batch = keys.slice(i, i + 1000)
        try {
          await client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: batch.map((k) => ({ Key: full(k) })), Quiet: true },
            }),
            deadline(),
          )
        } catch (error) {
          throw failed(`deleting ${batch.length} objects`, error)
        }
      }
    },
    async *list(under) {
      let token: string | undefined
      do {
        let page: ListObjectsV2CommandOutput
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: full(under), ContinuationToken: token }),
            deadline(),
          )
        } catch (error) {
          throw failed(`listing ${under}`, error)
        }
        for (const o of page.Contents ?? []) {
          if (!o.Key) continue
          yield {
            key: prefix ? o.Key.slice(prefix.length + 1) : o.Key,
            modified: o.LastModified ?? new Date(0),
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined
      } while (token)
    },
    async close() {
      client.destroy()
    },
  }
}
