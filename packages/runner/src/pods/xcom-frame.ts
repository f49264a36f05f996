import { createHash } from 'node:crypto'
import { TaskFailure } from '../engine/task-failure.js'
import { redactPresignedUrls } from '../xcom-store/transfer-target.js'
import {
  FRAME_BEGIN,
  FRAME_END,
  FRAME_ERROR,
  FRAME_NONE,
  FRAME_STORED,
  FRAME_VERSION,
} from './sidecar-script.js'
import { assertWithinLimit, type ResultChecks } from './xcom-value.js'

/** What the sidecar prints for a result file's bytes, or for no file: the frame {@link parseXcomFrame} reads. */
export function formatXcomFrame(bytes: Buffer | undefined): string {
  if (bytes === undefined) return `${FRAME_NONE}\n`
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  // base64 wraps at 76 columns, as busybox's and coreutils' do.
  const body = bytes.toString('base64').match(/.{1,76}/g) ?? []
  return [`${FRAME_BEGIN} ${FRAME_VERSION} ${bytes.length} ${sha256}`, ...body, FRAME_END, ''].join('\n')
}

/** The sidecar uploaded the result to the XCom store: what it reported, which the worker checks. */
export class StoredFrame {
  constructor(
    readonly size: number,
    readonly sha256: string,
  ) {}
}

/**
 * Extracts the result file's bytes from the sidecar's log (see sidecar-script.ts for the format).
 * `undefined` when the sidecar reported that no file was written, a StoredFrame when it uploaded the
 * result to the XCom store. Every way the frame can be damaged is a `fatal` failure that says which:
 * retrying would read the same log.
 */
export function parseXcomFrame(log: string, checks: ResultChecks): Buffer | StoredFrame | undefined {
  const lines = log.split(/\r?\n/)
  // The last frame wins: a sidecar that was restarted may have printed an earlier one.
  let begin = -1
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim()
    if (line === FRAME_NONE && begin === -1) return undefined
    if (line.startsWith(`${FRAME_ERROR} `)) {
      throw new TaskFailure(
        `the XCom sidecar of pod task "${checks.task}" could not hand the result over: ${redactPresignedUrls(line.slice(FRAME_ERROR.length + 1))}`,
        'fatal',
      )
    }
    if (line.startsWith(`${FRAME_STORED} `)) return storedFrame(line, checks)
    if (line.startsWith(`${FRAME_BEGIN} `)) {
      begin = i
      break
    }
  }
  if (begin === -1) {
    throw new TaskFailure(
      `the XCom sidecar of pod task "${checks.task}" printed no result frame (its log has ${log.length} bytes); ` +
        'it was probably killed before the base container finished: check that the sidecar image runs the Podline sidecar script',
      'infra',
    )
  }
  const header = lines[begin]!.trim().split(/\s+/)
  const [, version, lengthText, sha256] = header
  if (version !== FRAME_VERSION || !/^\d+$/.test(lengthText ?? '') || !/^[0-9a-f]{64}$/.test(sha256 ?? '')) {
    throw new TaskFailure(
      `the XCom sidecar of pod task "${checks.task}" printed a result frame this runner cannot read ("${lines[begin]!.trim()}"); ` +
        `use a sidecar image that speaks frame ${FRAME_VERSION}`,
      'fatal',
    )
  }
  const expected = Number(lengthText)
  assertWithinLimit(expected, checks)
  const body: string[] = []
  let ended = false
  for (const raw of lines.slice(begin + 1)) {
    const line = raw.trim()
    if (line === FRAME_END) {
      ended = true
      break
    }
    body.push(line)
  }
  const bytes = Buffer.from(body.join(''), 'base64')
  if (!ended || bytes.length !== expected) {
    throw new TaskFailure(
      `the result frame was truncated: expected ${expected} bytes, got ${bytes.length}` +
        `${ended ? '' : ' and no end marker'} (pod task "${checks.task}"); the sidecar's log was cut short, retrying will not help`,
      'fatal',
    )
  }
  const actual = createHash('sha256').update(bytes).digest('hex')
  if (actual !== sha256) {
    throw new TaskFailure(
      `the result frame was corrupted: checksum mismatch (expected sha256 ${sha256}, got ${actual}) for pod task "${checks.task}"`,
      'fatal',
    )
  }
  return bytes
}

function storedFrame(line: string, checks: ResultChecks): StoredFrame {
  const [, version, lengthText, sha256] = line.split(/\s+/)
  if (version !== FRAME_VERSION || !/^\d+$/.test(lengthText ?? '') || !/^[0-9a-f]{64}$/.test(sha256 ?? '')) {
    throw new TaskFailure(
      `the XCom sidecar of pod task "${checks.task}" printed a stored-result line this runner cannot read ("${line}"); ` +
        `use a sidecar image that speaks frame ${FRAME_VERSION}`,
      'fatal',
    )
  }
  return new StoredFrame(Number(lengthText), sha256 as string)
}
