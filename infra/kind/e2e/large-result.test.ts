import { createHash } from 'node:crypto'
import { openXComStore, type StoredReference } from '@podline/runner'
import {
  BASE_CONTAINER,
  FRAME_STORED,
  SIDECAR_CONTAINER,
  UPLOAD_URL_ENV,
  XCOM_FRAME_LIMIT_BYTES,
} from '@podline/runner/pods'
import { type S3TestServer, startS3Server } from '@podline/runner/testing'
import { type PodSpec, pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clusterOf, probeCluster, requiring, title, whereItRuns } from './support/cluster.js'
import { runOnCluster } from './support/run.js'
import { useScenarioNamespace } from './support/scenario-namespace.js'

// A pod's result over the log frame's 1 MiB with an S3 XCom store: the sidecar PUTs return.json to
// the presigned URL the worker minted, and the worker checks the stored object's size and sha256
// (docs/pods.md, "Large results and inputs"). The S3 API server (s3rver) listens on this machine's
// address on the pod bridge, where the worker and the pods both reach it.

const probe = requiring(await probeCluster({ database: true }), (cluster) =>
  cluster.hostAddress
    ? undefined
    : 'PODLINE_E2E_HOST_ADDRESS is not set (infra/cluster/test.sh sets it to the address pods reach this machine at)',
)
const SHELL = probe.ok ? probe.cluster.shellImage : ''

/** `{"rows":["row-00000000",…]}`, compact: 15 bytes a row, 5 MiB and a few bytes in all. */
const ROWS = 349_525
const VALUE = `{"rows":[${Array.from({ length: ROWS }, (_, i) => `"row-${String(i).padStart(8, '0')}"`).join(',')}]}`
/** The same value, written by busybox's awk in the pod, a row at a time. */
const WRITE_VALUE = `awk 'BEGIN { printf "{\\"rows\\":["; for (i = 0; i < ${ROWS}; i++) printf "%s\\"row-%08d\\"", (i ? "," : ""), i; printf "]}" }' > /airflow/xcom/return.json`
const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex')
const BUCKET = 'podline-e2e'
const STORE = `s3://${BUCKET}/large`

describe.skipIf(!probe.ok)(
  title(`a large pod result through the XCom store ${whereItRuns(probe)}`, probe),
  () => {
    const place = useScenarioNamespace(probe, 'podline-e2e-large')
    let s3: S3TestServer
    beforeAll(async () => {
      s3 = await startS3Server(BUCKET, clusterOf(probe).hostAddress)
    })
    afterAll(async () => {
      await s3?.close()
    })

    it('carries a 5 MiB return.json from the sidecar’s presigned PUT to the downstream task, whole', async () => {
      const cluster = clusterOf(probe)
      const resources: PodSpec['resources'] = {
        requests: { cpu: '10m', memory: '16Mi' },
        limits: { memory: '64Mi' },
      }
      // The sidecar needs curl: the cluster's shell image has it (infra/images/local/build.sh).
      const sidecar = cluster.sidecarImage ? { image: cluster.sidecarImage } : {}
      const p = pipeline('e2e-large-result')
        .pod(
          'produce',
          { onFinish: 'keep_pod', sidecar },
          { image: SHELL, command: ['sh', '-c', WRITE_VALUE], resources },
        )
        .task('measure', { needs: ['produce'] }, ({ produce }) => {
          const text = JSON.stringify(produce)
          const rows = (produce as { rows: string[] }).rows
          return { rows: rows.length, last: rows.at(-1), bytes: text.length, sha256: sha256(text) }
        })
      const started = Date.now()
      const run = await runOnCluster(cluster, p, {
        ...place,
        xcoms: { xcomStore: STORE, s3Endpoint: s3.endpoint },
      })
      const seconds = (Date.now() - started) / 1000
      expect(run.error).toBeUndefined()
      expect(VALUE.length).toBeGreaterThan(5 * XCOM_FRAME_LIMIT_BYTES)

      // The downstream task received the value whole.
      expect(run.outputs?.measure).toEqual({
        rows: ROWS,
        last: `row-${String(ROWS - 1).padStart(8, '0')}`,
        bytes: VALUE.length,
        sha256: sha256(VALUE),
      })

      // The row holds a reference to the object the pod uploaded (the attempt's key, claim 0), and
      // the object in the store is the value, byte for byte.
      const stored = (key: string) => run.xcoms.find((x) => x.task === 'produce' && x.key === key)?.value
      const reference = (stored('return_value') as StoredReference).$podline
      expect(reference).toEqual({
        store: STORE,
        key: expect.stringMatching(new RegExp(`^xcoms/[^/]+/${run.runId}/produce/1-0/return_value\\.json$`)),
        size: VALUE.length,
        sha256: sha256(VALUE),
      })
      const store = await openXComStore(STORE, { s3Endpoint: s3.endpoint })
      try {
        const object = await store.get(reference.key)
        expect(object.length).toBe(VALUE.length)
        expect(sha256(object)).toBe(sha256(VALUE))
      } finally {
        await store.close()
      }

      // Not through the log frame: the kept pod's sidecar printed the one line that reports the upload.
      const name = String(stored('pod_name'))
      const namespace = place.namespace
      const log = await cluster.core.readNamespacedPodLog({ name, namespace, container: SIDECAR_CONTAINER })
      expect(log).toBe(`${FRAME_STORED} v1 ${VALUE.length} ${sha256(VALUE)}\n`)
      // Only the sidecar holds the presigned PUT, for that key on this server.
      const pod = await cluster.core.readNamespacedPod({ name, namespace })
      const url = pod.spec?.initContainers
        ?.find((c) => c.name === SIDECAR_CONTAINER)
        ?.env?.find((e) => e.name === UPLOAD_URL_ENV)?.value
      expect(new URL(url ?? 'http://none').origin).toBe(s3.endpoint)
      expect(new URL(url ?? 'http://none').pathname).toBe(`/${BUCKET}/large/${reference.key}`)
      expect(JSON.stringify(pod.spec?.containers.find((c) => c.name === BASE_CONTAINER))).not.toContain(
        'X-Amz',
      )
      console.info(`a ${VALUE.length}-byte pod result through the XCom store: ${seconds.toFixed(1)} s`)
    }, 180_000)
  },
)
