import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { runLocal } from '../run-local.js'
import type { Database } from '../store/database.js'
import { openFreshDatabase, type S3TestServer, startS3Server } from '../testing/index.js'

/*
 * A pod's result over the log frame's limit (1 MiB) that the process runtime writes to an S3 store
 * (a real S3 API server, s3rver): when the store cannot be reached, the failure names the store; when
 * the task's output schema validates the result unchanged, the store holds it once.
 */
let database: Database
let close: () => Promise<void>
let s3: S3TestServer
beforeAll(async () => {
  ;({ database, close } = await openFreshDatabase())
  s3 = await startS3Server()
}, 60_000)
afterAll(async () => {
  await close?.()
  await s3?.close()
})

const SIZE = 2 * 1024 * 1024
const writeBig = `printf '{"data":"' >"$PODLINE_XCOM_PATH" && head -c ${SIZE} /dev/zero | tr '\\0' a >>"$PODLINE_XCOM_PATH" && printf '"}' >>"$PODLINE_XCOM_PATH"`

const bigPod = <T extends z.ZodType>(name: string, output: T) =>
  pipeline(name)
    .pod('make', { output }, { image: 'alpine:3.20', command: ['sh', '-c', writeBig] })
    .task('measure', { needs: ['make'] }, ({ make }) => JSON.stringify(make).length)

/** The keys of the objects the store holds for a run. */
async function objectsOf(runId: string): Promise<string[]> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: s3.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: s3.env.AWS_ACCESS_KEY_ID ?? '',
      secretAccessKey: s3.env.AWS_SECRET_ACCESS_KEY ?? '',
    },
  })
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))
    return (page.Contents ?? []).flatMap((o) => (o.Key?.includes(runId) ? [o.Key] : []))
  } finally {
    client.destroy()
  }
}

describe('a pod result written to an S3 store by the process runtime', () => {
  it('to a store that cannot be reached fails naming the store, not only an address', async () => {
    const failure = await runLocal(
      bigPod('result-store-unreachable', z.object({ data: z.string() })),
      {},
      {
        database,
        runtime: 'process',
        xcomStore: `s3://${s3.bucket}/unreachable`,
        // Nothing listens on the discard port.
        s3Endpoint: 'http://127.0.0.1:9',
      },
    ).catch((error: unknown) => error as Error)
    expect(failure).toBeInstanceOf(Error)
    expect((failure as Error).message).toMatch(
      new RegExp(
        `writing the result of pod task "make" to the XCom store s3://${s3.bucket}/unreachable failed: .*ECONNREFUSED 127\\.0\\.0\\.1:9`,
      ),
    )
  }, 60_000)

  it('validated by an output schema that leaves it unchanged, is stored once', async () => {
    let runId = ''
    const out = await runLocal(
      bigPod('result-store-once', z.object({ data: z.string() })),
      {},
      {
        database,
        runtime: 'process',
        xcomStore: `s3://${s3.bucket}/once`,
        s3Endpoint: s3.endpoint,
        onRun: (id) => {
          runId = id
        },
      },
    )
    expect(out.measure).toBe(SIZE + 11)
    const keys = await objectsOf(runId)
    expect(keys, keys.join('\n')).toHaveLength(1)
    expect(keys[0]).toMatch(/\/make\/1-0\/return_value\.json$/)
  }, 60_000)

  it('changed by its output schema, reaches the downstream task as the schema returned it', async () => {
    const out = await runLocal(
      bigPod('result-store-changed', z.object({ data: z.string().transform((s) => s.length) })),
      {},
      { database, runtime: 'process', xcomStore: `s3://${s3.bucket}/changed`, s3Endpoint: s3.endpoint },
    )
    expect(out.make).toEqual({ data: SIZE })
  }, 60_000)
})
