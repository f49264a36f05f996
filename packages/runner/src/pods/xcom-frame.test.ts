import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, symlinkSync } from 'node:fs'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { json } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { TaskFailure } from '../engine/task-failure.js'
import { SIDECAR_SCRIPT, UPLOAD_URL_ENV, XCOM_FRAME_LIMIT_BYTES } from './sidecar-script.js'
import { formatXcomFrame, parseXcomFrame, StoredFrame } from './xcom-frame.js'
import { decodeResult, type ResultChecks } from './xcom-value.js'

const checks: ResultChecks = { task: 'load', output: undefined, sizeLimitBytes: 1024 * 1024 }

function frame(content: Buffer | string): string {
  const bytes = Buffer.from(content)
  const sha = createHash('sha256').update(bytes).digest('hex')
  const b64 = bytes.toString('base64').replace(/(.{76})/g, '$1\n')
  return `PODLINE-XCOM-BEGIN v1 ${bytes.length} ${sha}\n${b64}\nPODLINE-XCOM-END\n`
}

async function failureOf(promise: Promise<unknown> | (() => unknown)): Promise<TaskFailure> {
  try {
    await (typeof promise === 'function' ? promise() : promise)
  } catch (error) {
    expect(error).toBeInstanceOf(TaskFailure)
    return error as TaskFailure
  }
  throw new Error('expected a TaskFailure')
}

/** Runs a sidecar script as the kubelet would: start, let base write, SIGTERM, collect stdout. */
async function runSidecar(
  script: string,
  args: string[],
  content: string | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  env: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'podline-sidecar-'))
  const file = join(dir, 'return.json')
  const child = spawn('sh', ['-c', script, ...args], {
    detached: true,
    env: {
      PATH: process.env.PATH,
      PODLINE_XCOM_PATH: file,
      PODLINE_SIDECAR_PID_FILE: join(dir, '.sidecar.pid'),
      PODLINE_TERMINATION_MESSAGE_PATH: join(dir, 'termination-log'),
      ...env,
    },
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const closed = new Promise((resolve) => child.on('close', resolve))
  let out = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
  })
  // The pid file is written once the traps are set: then SIGTERM is safe.
  while (!existsSync(join(dir, '.sidecar.pid'))) await new Promise((r) => setTimeout(r, 10))
  if (content !== undefined) await writeFile(file, content)
  child.kill(signal)
  const code = await exited
  // A signal that lands between `sleep &` and `sleeper=$!` leaves the sleep holding stdout open; a
  // container runtime kills it with the container, and so does this harness.
  try {
    process.kill(-child.pid!, 'SIGKILL')
  } catch {}
  await closed
  expect(code).toBe(0)
  // The same frame goes to the termination message file, which the kubelet reports in the status.
  expect(await readFile(join(dir, 'termination-log'), 'utf8')).toBe(out)
  return out
}

describe('parseXcomFrame', () => {
  it('decodes a complete frame', async () => {
    const bytes = parseXcomFrame(`some noise\n${frame('{"a":1}')}`, checks)
    expect(await decodeResult(bytes as Buffer, checks)).toEqual({ a: 1 })
  })

  it('returns undefined for the no-file marker', () => {
    expect(parseXcomFrame('PODLINE-XCOM-NONE\n', checks)).toBeUndefined()
  })

  it('reports a truncated frame with both lengths', async () => {
    const full = frame(JSON.stringify({ long: 'x'.repeat(500) }))
    const cut = full.slice(0, 200)
    const failure = await failureOf(() => parseXcomFrame(cut, checks))
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(/^the result frame was truncated: expected 511 bytes, got \d+/)
  })

  it('reports a checksum mismatch', async () => {
    const good = frame('{"a":1}')
    const bad = good.replace(
      Buffer.from('{"a":1}').toString('base64'),
      Buffer.from('{"a":2}').toString('base64'),
    )
    const failure = await failureOf(() => parseXcomFrame(bad, checks))
    expect(failure.message).toMatch(/checksum mismatch/)
    expect(failure.failureClass).toBe('fatal')
  })

  it('refuses a frame over the size limit from its header, before decoding', async () => {
    const failure = await failureOf(() =>
      parseXcomFrame(frame('x'.repeat(2048)), { ...checks, sizeLimitBytes: 1024 }),
    )
    expect(failure.message).toMatch(/is 2 KiB \(2048 bytes\), over the XCom size limit of 1 KiB \(1024 bytes/)
  })

  it('says so when the sidecar printed nothing', async () => {
    const failure = await failureOf(() => parseXcomFrame('', checks))
    expect(failure.message).toMatch(/printed no result frame/)
  })
})

describe('decodeResult', () => {
  it('gives no value for an empty or blank file', async () => {
    expect(await decodeResult(Buffer.alloc(0), checks)).toBeUndefined()
    expect(await decodeResult(Buffer.from('\n'), checks)).toBeUndefined()
  })

  it('names the parser position and the first bytes of invalid JSON', async () => {
    const failure = await failureOf(decodeResult(Buffer.from('{key1: "v"}'), checks))
    expect(failure.failureClass).toBe('fatal')
    expect(failure.message).toMatch(/not valid JSON \(.*position 1.*\); it starts with "\{key1: \\"v\\"\}"/)
  })

  it('says a value cut short looks truncated, and shows where a long one stops', async () => {
    for (const text of ['{"rows": [1, 2, 3', '{"rows": [1, 2, 3\n', '{"a": "unclosed', '{"a": tru', '[']) {
      const failure = await failureOf(decodeResult(Buffer.from(text), checks))
      expect(failure.failureClass).toBe('fatal')
      expect(failure.message, text).toContain('it ends before the value does')
      expect(failure.message, text).toContain('looks truncated')
      expect(failure.message, text).toContain(`It reads ${JSON.stringify(text)}`)
      expect(failure.message, text).toMatch(/rename it over \$PODLINE_XCOM_PATH$/)
    }
    const long = `[${'1,'.repeat(100)}`
    const failure = await failureOf(decodeResult(Buffer.from(long), checks))
    expect(failure.message).toContain(`and ends with …"${'1,'.repeat(40)}"`)
    // Invalid before the end: the general wording.
    for (const text of ['{"a": 1} x', '{"a": 1,}', '{"a": 1}\n{"b": 2}']) {
      const other = await failureOf(decodeResult(Buffer.from(text), checks))
      expect(other.message, text).not.toContain('truncated')
      expect(other.message, text).toMatch(/not valid JSON \(.*\); it starts with/)
    }
  })

  it('validates with the output schema and names the task and the issues', async () => {
    const output = z.object({ count: z.number() })
    expect(await decodeResult(Buffer.from('{"count":3}'), { ...checks, output })).toEqual({ count: 3 })
    const failure = await failureOf(decodeResult(Buffer.from('{"count":"3"}'), { ...checks, output }))
    expect(failure.message).toMatch(/the result of pod task "load" failed validation: count: /)
    expect(failure.failureClass).toBe('fatal')
    expect(await decodeResult(Buffer.from('[1]'), { ...checks, output: json<number[]>() })).toEqual([1])
  })
})

describe('the sidecar script', () => {
  for (const [what, content] of [
    ['a JSON file', '{"key1": "v", "key2": 2}\n'],
    ['a long file with unicode', JSON.stringify({ s: 'é✓'.repeat(300) })],
    ['an empty file', ''],
  ] as const) {
    it(`prints a frame the parser accepts for ${what}`, async () => {
      const out = await runSidecar(SIDECAR_SCRIPT, [], content)
      expect(parseXcomFrame(out, checks)?.toString('utf8')).toBe(content)
      // The double's simulated sidecar prints the frame from formatXcomFrame: the same bytes.
      expect(formatXcomFrame(Buffer.from(content))).toBe(out)
    })
  }

  it('prints the no-file marker when base wrote nothing', async () => {
    expect(await runSidecar(SIDECAR_SCRIPT, [], undefined)).toBe('PODLINE-XCOM-NONE\n')
    expect(formatXcomFrame(undefined)).toBe('PODLINE-XCOM-NONE\n')
  })

  // The sidecar image's script must print byte-for-byte the same frames as the one in the pod spec.
  const imageScript = join(import.meta.dirname, '../../../../infra/images/sidecar/podline-sidecar.sh')
  it('matches infra/images/sidecar/podline-sidecar.sh byte for byte', async () => {
    // Generated from SIDECAR_SCRIPT by infra/images/sidecar/generate.ts; missing is a failure, not a skip.
    expect(existsSync(imageScript), `${imageScript} exists`).toBe(true)
    for (const content of ['{"a":1}', JSON.stringify({ s: 'x'.repeat(1000) }), '', undefined]) {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        const ours = await runSidecar(SIDECAR_SCRIPT, [], content, signal)
        const theirs = await runSidecar('. "$0"', [imageScript], content, signal)
        expect(theirs).toBe(ours)
      }
    }
  })
})

describe('a result over the log frame limit with an upload URL', () => {
  const big = `"${'a'.repeat(XCOM_FRAME_LIMIT_BYTES)}"`

  it('is refused by a sidecar image without curl, naming the Podline sidecar image as the fix', async () => {
    // A PATH with the tools of alpine's busybox that the script uses, and no curl.
    const bin = await mkdtemp(join(tmpdir(), 'podline-no-curl-'))
    for (const tool of [
      'sh',
      'wc',
      'sha256sum',
      'cut',
      'base64',
      'tee',
      'sleep',
      'kill',
      'dirname',
      'tr',
      'cat',
    ]) {
      const found = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p))
      if (found) symlinkSync(found, join(bin, tool))
    }
    const out = await runSidecar(SIDECAR_SCRIPT, [], big, 'SIGTERM', {
      PATH: bin,
      [UPLOAD_URL_ENV]: 'http://127.0.0.1:9/bucket/key?X-Amz-Signature=00',
    })
    expect(out).toMatch(
      /^PODLINE-XCOM-ERROR the result is 1048578 bytes, over the 1048576 bytes a log frame carries/,
    )
    const failure = await failureOf(() => parseXcomFrame(out, checks))
    expect(failure.message).toMatch(
      /has no curl to upload it to the XCom store: use the Podline sidecar image \(infra\/images\/sidecar/,
    )
    expect(failure.failureClass).toBe('fatal')
  })

  it('is framed as usual when the sidecar has no upload URL (no store)', async () => {
    const out = await runSidecar(SIDECAR_SCRIPT, [], big)
    expect(
      (parseXcomFrame(out, { ...checks, sizeLimitBytes: 2 * XCOM_FRAME_LIMIT_BYTES }) as Buffer).length,
    ).toBe(XCOM_FRAME_LIMIT_BYTES + 2)
  })

  it('reads a stored-result line as what the worker checks, and refuses a malformed one', async () => {
    const sum = 'ab'.repeat(32)
    expect(parseXcomFrame(`noise\nPODLINE-XCOM-STORED v1 5000000 ${sum}\n`, checks)).toEqual(
      new StoredFrame(5000000, sum),
    )
    const failure = await failureOf(() => parseXcomFrame('PODLINE-XCOM-STORED v1 big nope\n', checks))
    expect(failure.message).toMatch(/printed a stored-result line this runner cannot read/)
  })

  it('redacts a presigned URL quoted in an error line', async () => {
    const failure = await failureOf(() =>
      parseXcomFrame(
        'PODLINE-XCOM-ERROR uploading failed: https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=ff\n',
        checks,
      ),
    )
    expect(failure.message).toContain('https://b.s3.amazonaws.com/k?<redacted>')
    expect(failure.message).not.toContain('AKIA')
  })
})
