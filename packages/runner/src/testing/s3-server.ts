import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A real S3 API server (s3rver, serving a temporary folder), for tests. */
export interface S3TestServer {
  /** `http://<address>:<port>`: what PODLINE_S3_ENDPOINT takes. */
  readonly endpoint: string
  readonly bucket: string
  /** The AWS environment the SDK needs for it (credentials s3rver accepts, a region), set in process.env where unset: the SDK reads it there. */
  readonly env: Record<string, string>
  close(): Promise<void>
}

interface S3rverInstance {
  run(): Promise<{ port: number }>
  close(): Promise<void>
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance

/**
 * Starts the server with one bucket; the SDK signs with SigV4 and s3rver checks the signatures. It
 * listens on 127.0.0.1 unless told another address of this machine: one that pods reach too, for a
 * presigned URL that a pod on a real cluster uses (the cluster suite's bridge address).
 */
export async function startS3Server(bucket = 'podline-test', address = '127.0.0.1'): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'podline-s3-'))
  // s3rver ships no types; its options are those of its README.
  const { default: S3rver } = (await import('s3rver' as string)) as { default: S3rverClass }
  const server = new S3rver({
    address,
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  })
  const { port } = await server.run()
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' }
  for (const [k, v] of Object.entries(env)) process.env[k] ??= v
  return {
    endpoint: `http://${address}:${port}`,
    bucket,
    env,
    async close() {
      await server.close()
      rmSync(directory, { recursive: true, force: true })
    },
  }
}
