import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { SIDECAR_IMAGE_SCRIPT_PATH, sidecarImageScript } from '@podline/runner/pods'
import { afterAll, describe, expect, it } from 'vitest'
import { hasProgram, REPO_ROOT } from './support/repo.js'

// The image's script is generated from the runner's inline one (infra/images/sidecar/generate.ts),
// so the runner parses one format whichever image the cluster runs. Its frames are checked here
// under every POSIX shell available: dash (sh) always, busybox (alpine's shell) when installed.

const IMAGE_SCRIPT = join(REPO_ROOT, SIDECAR_IMAGE_SCRIPT_PATH)

it('the sidecar image script is generated from the runner’s, not a second hand-kept copy', () => {
  expect(
    readFileSync(IMAGE_SCRIPT, 'utf8'),
    `${SIDECAR_IMAGE_SCRIPT_PATH} is stale: run npx tsx infra/images/sidecar/generate.ts`,
  ).toBe(sidecarImageScript())
})
const shells = ['sh', ...(hasProgram('busybox', ['true']) ? [['busybox', 'sh'].join(' ')] : [])]
const work = mkdtempSync(join(tmpdir(), 'podline-sidecar-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Starts a sidecar script, waits for its PID file, signals that PID, and returns its stdout. */
async function runSidecar(
  shell: string,
  file: string,
  signal: NodeJS.Signals,
  pidFile: string | 'default' = `${file}.pid`,
) {
  const [program, ...shellArgs] = shell.split(' ') as [string, ...string[]]
  const pidPath = pidFile === 'default' ? join(dirname(file), '.sidecar.pid') : pidFile
  rmSync(pidPath, { force: true })
  const args = [...shellArgs, IMAGE_SCRIPT]
  const child = spawn(program, args, {
    env: {
      PATH: process.env.PATH,
      PODLINE_XCOM_PATH: file,
      ...(pidFile === 'default' ? {} : { PODLINE_SIDECAR_PID_FILE: pidFile }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const pid = await waitForPid(pidPath)
  process.kill(pid, signal)
  const code = await exited
  return { code, stdout, stderr }
}

async function waitForPid(pidFile: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim())
      if (pid > 0) return pid
    } catch {}
    await new Promise((r) => setTimeout(r, 25))
  }
  throw new Error(`the sidecar wrote no PID to ${pidFile} within 5 s`)
}

/** The runner's reading of a frame, restated: length and checksum must match the decoded bytes. */
function decodeFrame(stdout: string): Buffer | null {
  const lines = stdout.split('\n')
  if (lines[0] === 'PODLINE-XCOM-NONE' && lines.length === 2 && lines[1] === '') return null
  const begin = /^PODLINE-XCOM-BEGIN v1 (\d+) ([0-9a-f]{64})$/.exec(lines[0] ?? '')
  if (!begin) throw new Error(`no frame header in ${JSON.stringify(stdout.slice(0, 120))}`)
  const end = lines.indexOf('PODLINE-XCOM-END')
  expect(lines.slice(end + 1)).toEqual([''])
  const bytes = Buffer.from(lines.slice(1, end).join(''), 'base64')
  expect(bytes.length).toBe(Number(begin[1]))
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(begin[2])
  return bytes
}

const CONTENTS: Record<string, Buffer> = {
  json: Buffer.from('{"key1":"value1","key2":2}'),
  empty: Buffer.alloc(0),
  'multi-line base64 (wraps at 76)': Buffer.from(
    JSON.stringify({ rows: Array.from({ length: 60 }, (_, i) => i) }),
  ),
  'every byte value': Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
}

describe.each(shells)('sidecar script under %s', (shell) => {
  it.each(Object.keys(CONTENTS))('frames %s as the runner reads it, on SIGTERM and SIGINT', async (name) => {
    const content = CONTENTS[name] as Buffer
    const file = join(work, `${shell.replace(' ', '-')}-${name.replace(/\W+/g, '-')}.json`)
    writeFileSync(file, content)
    const image = await runSidecar(shell, file, 'SIGTERM')
    expect(image).toMatchObject({ code: 0, stderr: '' })
    expect(decodeFrame(image.stdout)).toEqual(content)
    expect(await runSidecar(shell, file, 'SIGINT')).toEqual(image)
  })

  it('prints PODLINE-XCOM-NONE when the base container wrote nothing', async () => {
    const file = join(work, `${shell.replace(' ', '-')}-missing.json`)
    const image = await runSidecar(shell, file, 'SIGINT')
    expect(image).toEqual({ code: 0, stdout: 'PODLINE-XCOM-NONE\n', stderr: '' })
  })
})

it('writes its PID to .sidecar.pid beside the result by default, where the runner signals it', async () => {
  const dir = mkdtempSync(join(work, 'default-'))
  const result = await runSidecar('sh', join(dir, 'return.json'), 'SIGINT', 'default')
  expect(result).toEqual({ code: 0, stdout: 'PODLINE-XCOM-NONE\n', stderr: '' })
})
