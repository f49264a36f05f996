import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { successOutcome } from '../worker/attempt-outcome.js'
import { openFileStore } from '../xcom-store/file-store.js'
import { podXComTransfers } from '../xcom-store/pod-transfers.js'
import { DEFAULT_XCOM_SIZE_LIMIT_BYTES, DEFAULT_XCOM_STORE_LIMIT_BYTES } from '../xcom-store/xcom-limit.js'
import { DEFAULT_OFFLOAD_BYTES, storePrefix } from '../xcom-store/xcom-reference.js'
import { readResultFile } from './result-file.js'
import { uploadResultFile } from './result-upload.js'
import { XCOM_FRAME_LIMIT_BYTES } from './sidecar-script.js'
import { decodeResult, type ResultChecks } from './xcom-value.js'

/**
 * The shared result vectors (sdks/vectors/results.json) through the worker's own checks, as a pod
 * task's result file meets them: decodeResult and the outcome's checks (successOutcome) without an
 * XCom store; with one, the process runtime's upload (uploadResultFile), the store's size and
 * sha256 check (accept) and the outcome. sdks/python/tests/test_vectors.py runs the same cases
 * through the Python package, so the two sides cannot drift apart.
 */

interface FileSpec {
  text?: string
  base64?: string
  fill?: { before: string; unit: string; after: string; bytes: number }
  nest?: { depth: number; leaf: string }
}

interface VectorCase {
  name: string
  worker?: 'no-store' | 'store'
  value?: unknown
  file?: FileSpec
  expect: Outcome
  reason?: string
  /** What the worker does today where it differs from `expect`; worker_issue says why that is wrong. */
  worker_today?: Outcome
  worker_issue?: string
}

type Outcome = 'accepted' | 'refused' | 'no-value'

const VECTORS = fileURLToPath(new URL('../../../../sdks/vectors/results.json', import.meta.url))
const { limits, cases } = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
  limits: Record<'no-store' | 'store', number>
  cases: VectorCase[]
}

/** How the worker words each reason class: a refusal for the right reason, not any failure. */
const WORKER_SAYS: Record<string, RegExp> = {
  non_finite_number: /is not valid JSON|returned a value that is not JSON: .* is (Infinity|-Infinity|NaN)/,
  invalid_json: /is not valid JSON/,
  unstorable_text: /which PostgreSQL cannot store/,
  reserved_key: /which Podline reserves/,
  too_large: /over the XCom size limit/,
  too_deep: /is nested deeper than 512 levels/,
  invalid_utf8: /is not UTF-8 text \(an invalid byte sequence at byte \d+\)/,
  unsafe_integer: /past 2\^53 − 1, which a JSON number cannot hold exactly/,
}

const TASK = 'vectors'

function fileBytes(spec: FileSpec): Buffer {
  if (spec.text !== undefined) return Buffer.from(spec.text, 'utf8')
  if (spec.base64 !== undefined) return Buffer.from(spec.base64, 'base64')
  if (spec.fill) {
    const [before, unit, after] = [spec.fill.before, spec.fill.unit, spec.fill.after].map((s) =>
      Buffer.from(s, 'utf8'),
    ) as [Buffer, Buffer, Buffer]
    const room = spec.fill.bytes - before.length - after.length
    if (room % unit.length !== 0) throw new Error(`a fill of ${spec.fill.bytes} bytes does not divide`)
    return Buffer.concat([before, Buffer.alloc(room, unit), after])
  }
  if (spec.nest) {
    const { depth, leaf } = spec.nest
    return Buffer.from(`${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`)
  }
  throw new Error(`unknown file spec ${JSON.stringify(Object.keys(spec))}`)
}

/** The plain value of a tagged vector value, for the tags accepted cases use. */
function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag)
  if (value === null || typeof value !== 'object') return value
  const { $vector: tag, ...rest } = value as Record<string, unknown>
  if (tag === undefined) return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, untag(v)]))
  if (tag === 'repeat') return String(rest.unit).repeat(Number(rest.count))
  if (tag === 'nest') {
    let nested = untag(rest.leaf)
    for (let i = 0; i < Number(rest.depth); i++) nested = [nested]
    return nested
  }
  throw new Error(`the vector tag ${String(tag)} stands for a value JavaScript cannot hold`)
}

/** `value` reads the accepted value back only when a case compares it. */
type Judged =
  | { outcome: 'accepted'; value: () => unknown }
  | { outcome: 'no-value' }
  | { outcome: 'refused'; message: string }

const checks: ResultChecks = { task: TASK, output: undefined, sizeLimitBytes: DEFAULT_XCOM_SIZE_LIMIT_BYTES }

/** A worker without an XCom store: the result comes through the frame or the file, whole. */
async function withoutStore(bytes: Buffer): Promise<Judged> {
  const value = await decodeResult(bytes, checks)
  const outcome = successOutcome(TASK, value, DEFAULT_XCOM_SIZE_LIMIT_BYTES)
  if (outcome.state !== 'success') throw new Error(`unexpected outcome ${outcome.state}`)
  return value === undefined ? { outcome: 'no-value' } : { outcome: 'accepted', value: () => outcome.output }
}

/** A worker with a folder store under the process runtime: a result over the frame is uploaded and checked. */
async function withStore(bytes: Buffer, folder: string): Promise<Judged> {
  const store = openFileStore(pathToFileURL(join(folder, 'store')))
  const transfers = podXComTransfers(
    { store, offloadBytes: DEFAULT_OFFLOAD_BYTES, prefix: storePrefix('vectors') },
    { runId: 'run', task: TASK, attempt: 1 },
    { msToDeadline: null, limitBytes: DEFAULT_XCOM_STORE_LIMIT_BYTES },
  )
  const file = join(folder, 'return.json')
  await mkdir(folder)
  await writeFile(file, bytes)
  const { uploaded, hint } = await uploadResultFile(
    file,
    { ...checks, store: store.location },
    transfers,
    () => transfers.uploadTarget(),
  )
  if (uploaded) {
    const stored = await transfers.accept(uploaded, TASK)
    successOutcome(TASK, stored, DEFAULT_XCOM_STORE_LIMIT_BYTES, store.location)
    const text = (await transfers.read(stored)).toString('utf8')
    return { outcome: 'accepted', value: () => JSON.parse(text) }
  }
  const value = await decodeResult(await readResultFile(file, { ...checks, overLimitHint: hint }), checks)
  successOutcome(TASK, value, DEFAULT_XCOM_STORE_LIMIT_BYTES, store.location)
  return value === undefined ? { outcome: 'no-value' } : { outcome: 'accepted', value: () => value }
}

describe('the result vectors through the worker', () => {
  let folder: string
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'podline-vectors-'))
  })
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  it('speaks of the limits the worker has', () => {
    expect(limits).toEqual({
      'no-store': DEFAULT_XCOM_SIZE_LIMIT_BYTES,
      store: DEFAULT_XCOM_STORE_LIMIT_BYTES,
    })
    expect(XCOM_FRAME_LIMIT_BYTES).toBe(DEFAULT_XCOM_SIZE_LIMIT_BYTES)
  })

  for (const vector of cases.filter((c) => c.file !== undefined)) {
    const worker = vector.worker ?? 'no-store'
    const expected = vector.worker_today ?? vector.expect
    it(`${vector.name} (${worker}): ${expected}${vector.worker_today ? `, where ${vector.expect} is right (a known worker issue)` : ''}`, async () => {
      const bytes = fileBytes(vector.file as FileSpec)
      const case_ = join(folder, vector.name)
      let judged: Judged
      try {
        judged = worker === 'store' ? await withStore(bytes, case_) : await withoutStore(bytes)
      } catch (error) {
        judged = { outcome: 'refused', message: (error as Error).message }
      }
      expect(judged.outcome, 'message' in judged ? judged.message : undefined).toBe(expected)
      if (judged.outcome === 'refused') {
        const says = WORKER_SAYS[vector.reason ?? '']
        expect(says, `no wording is known for the reason ${vector.reason}`).toBeDefined()
        expect(judged.message).toMatch(says as RegExp)
      }
      if (judged.outcome === 'accepted' && vector.value !== undefined && !vector.worker_today)
        expect(judged.value()).toEqual(untag(vector.value))
    })
  }
})
