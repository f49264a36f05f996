import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { pipeline } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { createKubeClient } from '../pods/kube-client.js'
import { podStatus } from '../pods/pod-status.js'
import { renderPods } from '../pods/render-pods.js'
import { UPLOAD_URL_ENV } from '../pods/sidecar-script.js'
import { runLocal } from '../run-local.js'
import type { Database } from '../store/database.js'
import { openFreshDatabase, type S3TestServer, startS3Server, waitUntil } from '../testing/index.js'
import {
  DEFAULT_TRANSFER_EXPIRY_SECONDS,
  redactPresignedUrls,
  SIGV4_MAX_EXPIRY_SECONDS,
  transferExpirySeconds,
} from '../xcom-store/transfer-target.js'

/*
 * A pod's result over the log frame's limit goes straight to the XCom store: on the Kubernetes
 * double (real processes, real curl) its sidecar PUTs it to a presigned URL of a real S3 API server
 * (s3rver); under the process runtime it is written to the file store's folder. The worker checks
 * the stored object's size and sha256 before it records the reference.
 */
const ACCESS_KEY = 'PODLINEUPLOADTEST'
const SECRET_KEY = 'upload-test-secret-0c9f1d2e3a4b'

let database: Database
let close: () => Promise<void>
let s3: S3TestServer
let double: KubeDouble
let folder: string
beforeAll(async () => {
  // Credentials of their own, so a leak of the secret is told apart from the key id a URL names.
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY
  process.env.AWS_SECRET_ACCESS_KEY = SECRET_KEY
  delete process.env.AWS_SESSION_TOKEN
  const account = (await import('s3rver/lib/models/account.js' as string)) as {
    default: { DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void } }
  }
  account.default.DUMMY_ACCOUNT.createKeyPair(ACCESS_KEY, SECRET_KEY)
  ;({ database, close } = await openFreshDatabase())
  s3 = await startS3Server()
  double = await startKubeDouble()
  folder = mkdtempSync(join(tmpdir(), 'podline-pod-xcoms-'))
}, 60_000)
afterAll(async () => {
  await close?.()
  await s3?.close()
  await double?.close()
  rmSync(folder, { recursive: true, force: true })
})

/** A shell command that writes a JSON string of `n` bytes' payload to the result file. */
const writeBig = (n: number) =>
  `printf '{"data":"' >"$PODLINE_XCOM_PATH" && head -c ${n} /dev/zero | tr '\\0' a >>"$PODLINE_XCOM_PATH" && printf '"}' >>"$PODLINE_XCOM_PATH"`
const bigValue = (n: number) => `{"data":"${'a'.repeat(n)}"}`
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

const SIZE = 3 * 1024 * 1024

const bigPod = (name: string, options: { retries?: number } = {}) =>
  pipeline(name)
    .pod(
      'make',
      { retries: options.retries ?? 0, onFinish: 'keep_pod' },
      {
        image: 'alpine:3.20',
        command: ['sh', '-c', writeBig(SIZE)],
      },
    )
    .task('measure', { needs: ['make'] }, ({ make }) => {
      const data = (make as { data: string }).data
      return { length: data.length, allA: /^a*$/.test(data) }
    })

const onKube = () => ({
  database,
  runtime: 'kubernetes' as const,
  kube: { kubeconfig: double.kubeconfigPath },
  xcomStore: `s3://${s3.bucket}/pods`,
  s3Endpoint: s3.endpoint,
})

async function referenceOf(runId: string, task: string) {
  const [row] = await database.rows<{
    value: { $podline: { store: string; key: string; size: number; sha256: string } }
  }>(sql`
    select value from podline.xcoms where run_id = ${runId}::uuid and task = ${task} and key = 'return_value'`)
  return row?.value.$podline
}

async function storedText(runId: string): Promise<string> {
  const [row] = await database.rows<{ text: string }>(sql`
    select coalesce((select string_agg(e::text, ' ') from podline.events e where e.run_id = ${runId}::uuid), '') ||
           coalesce((select string_agg(l::text, ' ') from podline.task_logs l where l.run_id = ${runId}::uuid), '') as text`)
  return row?.text ?? ''
}

describe('a pod on Kubernetes with an S3 store', () => {
  it('uploads a result over the frame limit through a presigned URL; the worker checks it and records the reference', async () => {
    let runId = ''
    const out = await runLocal(bigPod('pod-upload'), {}, { ...onKube(), onRun: (id) => (runId = id) })
    expect(out.measure).toEqual({ length: SIZE, allA: true })
    const ref = await referenceOf(runId, 'make')
    expect(ref).toMatchObject({
      store: `s3://${s3.bucket}/pods`,
      size: SIZE + 11,
      sha256: sha256(bigValue(SIZE)),
    })
    expect(ref?.key).toBe(`xcoms/${await database.storeId()}/${runId}/make/1-0/return_value.json`)

    // What the double received: the sidecar's env holds a presigned PUT for that key, and no secret.
    const pod = double.pods().find((p) => p.metadata.labels?.['podline.dev/run'] === runId)
    expect(pod).toBeDefined()
    const sidecar = [...(pod?.spec.initContainers ?? []), ...(pod?.spec.containers ?? [])].find(
      (c) => c.name === 'podline-xcom',
    )
    const url = new URL(sidecar?.env?.find((e) => e.name === UPLOAD_URL_ENV)?.value ?? 'http://none')
    expect(url.pathname).toBe(`/${s3.bucket}/pods/${ref?.key}`)
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/)
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(7 * 24 * 3600)
    expect(url.searchParams.has('X-Amz-Security-Token')).toBe(false)
    const spec = JSON.stringify(pod)
    expect(spec).not.toContain(SECRET_KEY)
    // Base never sees the URL: only the sidecar uploads.
    expect(JSON.stringify(pod?.spec.containers.find((c) => c.name === 'base'))).not.toContain('X-Amz')
    // Nor do the stored events and logs.
    const stored = await storedText(runId)
    expect(stored).not.toContain(SECRET_KEY)
    expect(stored).not.toContain('X-Amz-Signature')
  }, 120_000)

  it('keeps a result under the frame limit in the log frame, as without a store', async () => {
    const out = await runLocal(
      pipeline('pod-small-with-store').pod(
        'make',
        {},
        {
          image: 'alpine:3.20',
          command: ['sh', '-c', `echo '{"n": 7}' > "$PODLINE_XCOM_PATH"`],
        },
      ),
      {},
      onKube(),
    )
    expect(out.make).toEqual({ n: 7 })
  }, 60_000)

  it('refuses a result whose temporary credentials would carry a session token into the pod spec', async () => {
    process.env.AWS_SESSION_TOKEN = 'session-token-must-not-leak'
    let runId = ''
    try {
      await expect(
        runLocal(bigPod('pod-upload-session'), {}, { ...onKube(), onRun: (id) => (runId = id) }),
      ).rejects.toThrow(/session token.*long-term S3 credentials/)
    } finally {
      delete process.env.AWS_SESSION_TOKEN
    }
    const pod = double.pods().find((p) => p.metadata.labels?.['podline.dev/run'] === runId)
    expect(JSON.stringify(pod)).not.toContain('session-token-must-not-leak')
    const sidecar = pod?.spec.initContainers?.find((c) => c.name === 'podline-xcom')
    expect(sidecar?.env?.map((e) => e.name)).not.toContain(UPLOAD_URL_ENV)
  }, 60_000)
})

/**
 * An S3 endpoint that forwards to s3rver and spoils the bodies of result uploads on their way:
 * what a broken proxy or a cut connection would leave in the bucket.
 */
async function spoilingProxy(
  target: string,
  spoil: (body: Buffer) => Buffer,
): Promise<Server & { url: string }> {
  const upstream = new URL(target)
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let body: Buffer = Buffer.concat(chunks)
      if (req.method === 'PUT' && req.url?.includes('return_value')) body = spoil(body)
      const headers = { ...req.headers, 'content-length': String(body.length) }
      const out = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        },
      )
      out.on('error', () => res.destroy())
      out.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return Object.assign(server, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
}

describe('an upload that does not match what the sidecar reported', () => {
  const cases = {
    tampered: {
      spoil: (b: Buffer) => Buffer.concat([b.subarray(0, 20), Buffer.from('b'), b.subarray(21)]),
      says: /the object is changed/,
    },
    truncated: {
      spoil: (b: Buffer) => b.subarray(0, b.length - 1000),
      says: new RegExp(`the object is truncated, ${SIZE + 11 - 1000} bytes`),
    },
  }
  for (const [name, { spoil, says }] of Object.entries(cases)) {
    it(`is refused when ${name}, naming the mismatch`, async () => {
      const proxy = await spoilingProxy(s3.endpoint, spoil)
      let runId = ''
      try {
        const run = runLocal(
          bigPod(`pod-upload-${name}`),
          {},
          {
            ...onKube(),
            s3Endpoint: proxy.url,
            onRun: (id) => (runId = id),
          },
        )
        await expect(run).rejects.toThrow(says)
        await expect(run).rejects.toThrow(
          new RegExp(
            `reported ${SIZE + 11} bytes with sha256 [0-9a-f]{64}; the upload was cut short or changed`,
          ),
        )
      } finally {
        proxy.close()
      }
      // Nothing was recorded for the task.
      expect(await referenceOf(runId, 'make')).toBeUndefined()
    }, 60_000)
  }
})

describe('the process runtime with a file store', () => {
  it('writes a result over the frame limit into the store folder at its key, checked and recorded', async () => {
    let runId = ''
    const store = pathToFileURL(join(folder, 'store')).href
    const out = await runLocal(
      bigPod('process-upload'),
      {},
      {
        database,
        runtime: 'process',
        xcomStore: store,
        onRun: (id) => (runId = id),
      },
    )
    expect(out.measure).toEqual({ length: SIZE, allA: true })
    const ref = await referenceOf(runId, 'make')
    expect(ref).toMatchObject({ size: SIZE + 11, sha256: sha256(bigValue(SIZE)) })
    expect(sha256(readFileSync(join(folder, 'store', ref?.key ?? 'none'), 'utf8'))).toBe(ref?.sha256)
  }, 60_000)

  it('reads an uploaded value back when the task has an output schema, and checks it', async () => {
    const p = pipeline('process-upload-schema').pod(
      'make',
      { output: z.object({ data: z.string().max(10) }), retries: 0 },
      { image: 'alpine:3.20', command: ['sh', '-c', writeBig(SIZE)] },
    )
    await expect(
      runLocal(
        p,
        {},
        { database, runtime: 'process', xcomStore: pathToFileURL(join(folder, 'schema')).href },
      ),
    ).rejects.toThrow(/the result of pod task "make"/)
  }, 60_000)
})

describe('the process runtime with an S3 store', () => {
  it('PUTs a result over the frame limit to the presigned URL, checked and recorded', async () => {
    let runId = ''
    const out = await runLocal(
      bigPod('process-upload-s3'),
      {},
      {
        database,
        runtime: 'process',
        xcomStore: `s3://${s3.bucket}/process`,
        s3Endpoint: s3.endpoint,
        onRun: (id) => (runId = id),
      },
    )
    expect(out.measure).toEqual({ length: SIZE, allA: true })
    expect(await referenceOf(runId, 'make')).toMatchObject({
      store: `s3://${s3.bucket}/process`,
      size: SIZE + 11,
      sha256: sha256(bigValue(SIZE)),
    })
  }, 60_000)
})

describe('ctx.inputUrl', () => {
  /** An inline task's large output, read by a pod through the location ctx.inputUrl gives. */
  const reader = (name: string, read: (input: string) => string) =>
    pipeline(name)
      .task('make', () => ({ data: 'x'.repeat(200_000) }))
      .task('small', () => ({ n: 1 }))
      .pod('check', { needs: ['make', 'small'] }, async (_inputs, ctx) => {
        const input = await ctx.inputUrl('make')
        const small = await ctx.inputUrl('small')
        const location = input?.kind === 'url' ? input.url : input?.kind === 'path' ? input.path : ''
        return {
          image: 'alpine:3.20',
          command: [
            'sh',
            '-c',
            `sum=$(${read('"$INPUT"')} | sha256sum | cut -d ' ' -f 1); printf '{"sum":"%s","expected":"%s","small":%s}' "$sum" "$EXPECTED" "$SMALL" >"$PODLINE_XCOM_PATH"`,
          ],
          env: {
            INPUT: location,
            EXPECTED: input?.sha256 ?? '',
            SMALL: small === undefined ? 'null' : '"stored"',
          },
        }
      })

  it('hands a pod on Kubernetes a presigned GET of a stored upstream value', async () => {
    const out = await runLocal(
      reader('input-url-kube', (i) => `curl -fsS ${i}`),
      {},
      {
        ...onKube(),
        xcomOffloadBytes: 1024,
      },
    )
    const check = out.check as { sum: string; expected: string; small: unknown }
    expect(check.sum).toBe(sha256(JSON.stringify(out.make)))
    expect(check.expected).toBe(check.sum)
    // A value kept in its row has no location: the pod takes the input itself.
    expect(check.small).toBeNull()
  }, 60_000)

  it('hands the process runtime the stored value’s path in the file store', async () => {
    const out = await runLocal(
      reader('input-url-process', (i) => `cat ${i}`),
      {},
      {
        database,
        runtime: 'process',
        xcomStore: pathToFileURL(join(folder, 'inputs')).href,
        xcomOffloadBytes: 1024,
      },
    )
    const check = out.check as { sum: string; expected: string }
    expect(check.sum).toBe(sha256(JSON.stringify(out.make)))
    expect(check.expected).toBe(check.sum)
  }, 60_000)

  it('gives an item of a mapped upstream, and asks for { item } when none is named', async () => {
    const mapped = (name: string, withItem: boolean) =>
      pipeline(name)
        .task('list', () => ['a', 'b'])
        .map('m', { needs: ['list'], over: ({ list }) => list }, (letter) => letter.repeat(5000))
        .pod('check', { needs: ['m'], retries: 0 }, async (_inputs, ctx) => {
          const input = await ctx.inputUrl('m', withItem ? { item: 1 } : {})
          return {
            image: 'alpine:3.20',
            command: [
              'sh',
              '-c',
              `sha256sum "$INPUT" | cut -d ' ' -f 1 | sed 's/.*/"&"/' >"$PODLINE_XCOM_PATH"`,
            ],
            env: { INPUT: input?.kind === 'path' ? input.path : '' },
          }
        })
    const options = {
      database,
      runtime: 'process' as const,
      xcomStore: pathToFileURL(join(folder, 'mapped')).href,
      xcomOffloadBytes: 1024,
    }
    const out = await runLocal(mapped('input-url-item', true), {}, options)
    expect(out.check).toBe(sha256(JSON.stringify('b'.repeat(5000))))
    await expect(runLocal(mapped('input-url-no-item', false), {}, options)).rejects.toThrow(
      /ctx.inputUrl\("m"\): "m" is a mapped task, whose items are stored one by one: pass \{ item: i \}/,
    )
  }, 60_000)

  it('renders as a placeholder in podline plan, never a URL', async () => {
    const p = pipeline('input-url-plan')
      .task('make', () => 1)
      .pod('check', { needs: ['make'] }, async (_inputs, ctx) => ({
        image: 'alpine:3.20',
        env: { INPUT: JSON.stringify(await ctx.inputUrl('make')) },
      }))
    const { pods, unrendered } = await renderPods(p, {})
    expect(unrendered).toEqual([])
    expect(pods[0]?.spec?.containers[0]?.env?.find((e) => e.name === 'INPUT')?.value).toBe(
      '"{{ inputUrl(make) }}"',
    )
  })

  it('names the needs when asked for a task the pod does not need', async () => {
    const p = pipeline('input-url-not-needed')
      .task('make', () => 1)
      .pod('check', { needs: ['make'], retries: 0 }, async (_inputs, ctx) => {
        // @ts-expect-error: only the needed tasks are accepted
        await ctx.inputUrl('other')
        return { image: 'alpine:3.20', command: ['true'] }
      })
    await expect(runLocal(p, {}, { database, runtime: 'process' })).rejects.toThrow(
      /ctx.inputUrl\("other"\): task "check" does not need "other"; it needs "make"/,
    )
  }, 60_000)
})

describe('the UI pod panel', () => {
  it('shows a pod whose status quotes a presigned URL with the URL redacted', async () => {
    let runId = ''
    const run = runLocal(
      pipeline('pod-status-redacted').pod(
        'wait',
        { retries: 0, onFinish: 'keep_pod' },
        {
          image: 'alpine:3.20',
          command: ['sleep', '30'],
        },
      ),
      {},
      { ...onKube(), onRun: (id) => (runId = id) },
    )
    run.catch(() => {})
    const pod = await waitUntil('the pod to run', () =>
      double
        .pods()
        .find(
          (p) =>
            p.metadata.labels?.['podline.dev/run'] === runId &&
            p.status?.containerStatuses?.some((c) => c.name === 'base' && c.state?.running),
        ),
    )
    const url = `${s3.endpoint}/${s3.bucket}/k.json?X-Amz-Credential=${ACCESS_KEY}%2F20261201&X-Amz-Signature=${'f'.repeat(64)}`
    await double.faults.evict('default', pod.metadata.name ?? '', `a webhook quoted ${url} while evicting`)
    const status = await podStatus(createKubeClient({ kubeconfig: double.kubeconfigPath }), {
      namespace: 'default',
      name: pod.metadata.name ?? '',
    })
    expect(status.message).toBe(
      `a webhook quoted ${s3.endpoint}/${s3.bucket}/k.json?<redacted> while evicting`,
    )
    await expect(run).rejects.toThrow(
      /was lost: Evicted: a webhook quoted .*k\.json\?<redacted> while evicting/,
    )
    expect(await storedText(runId)).not.toContain('X-Amz-Signature')
  }, 60_000)
})

describe('presigned URLs and their lifetime', () => {
  it('redacts the query of a presigned URL wherever it is quoted, and leaves other URLs alone', () => {
    const url =
      'https://b.s3.amazonaws.com/xcoms/k.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261201&X-Amz-Signature=abc'
    expect(redactPresignedUrls(`env PODLINE_XCOM_UPLOAD_URL="${url}" refused`)).toBe(
      'env PODLINE_XCOM_UPLOAD_URL="https://b.s3.amazonaws.com/xcoms/k.json?<redacted>" refused',
    )
    expect(redactPresignedUrls('see https://example.com/a?b=c')).toBe('see https://example.com/a?b=c')
  })

  it('expires a URL with the attempt’s deadline, after the default without one, never past SigV4’s 7 days', () => {
    expect(transferExpirySeconds(10 * 60_000)).toBe(15 * 60)
    expect(transferExpirySeconds(null)).toBe(DEFAULT_TRANSFER_EXPIRY_SECONDS)
    expect(transferExpirySeconds(30 * 24 * 3600_000)).toBe(SIGV4_MAX_EXPIRY_SECONDS)
    expect(SIGV4_MAX_EXPIRY_SECONDS).toBe(604_800)
  })
})
