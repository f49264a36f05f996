import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { canBindMount } from './bind-mount-support.js'
import { ContainerStartError } from './container-start-error.js'
import { execInContainer } from './exec-in-container.js'
import { exitCodeOf } from './exit-code.js'
import { startContainerProcess } from './start-container-process.js'

const node = process.execPath
let hostDir: string

beforeEach(async () => {
  hostDir = await mkdtemp(join(tmpdir(), 'container-process-test-'))
})
afterEach(async () => {
  await rm(hostDir, { recursive: true, force: true })
})

// A killed orphan stays a zombie until init reaps it, which some container inits never do.
/** Resolves once `condition` holds; fails, naming `what`, if it still does not after `deadlineMs`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, deadlineMs = 5000) {
  const deadline = Date.now() + deadlineMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** A container whose `script` starts a child in the background and prints its pid: the pid, once printed. */
async function startWithChild(script: string) {
  let childPid = 0
  const proc = await startContainerProcess({
    name: 'base',
    command: ['sh', '-c', script],
    env: {},
    onOutput: (chunk) => {
      childPid = Number(chunk.toString().trim())
    },
  })
  return { proc, childPid: () => childPid }
}

describe('startContainerProcess', () => {
  it('runs the command with only the given environment plus PATH and streams its output', async () => {
    const chunks: string[] = []
    const proc = await startContainerProcess({
      name: 'base',
      command: ['sh', '-c', 'echo "$GREETING $HOME"; echo oops >&2; exit 3'],
      env: { GREETING: 'hello' },
      onOutput: (chunk, stream) => chunks.push(`${stream}:${chunk.toString()}`),
    })
    const exit = await proc.exited
    expect(exit).toEqual({ exitCode: 3, signal: null, oomKilled: false })
    expect(chunks).toContain('stdout:hello \n')
    expect(chunks).toContain('stderr:oops\n')
  })

  it('bind-mounts a host folder at /airflow/xcom so a hard-coded path lands on the host', async (ctx) => {
    if (!(await canBindMount())) ctx.skip()
    const proc = await startContainerProcess({
      name: 'base',
      command: ['sh', '-c', 'echo \'{"rows": 3}\' > /airflow/xcom/return.json && pwd'],
      env: {},
      workingDir: '/airflow/xcom',
      mounts: [{ hostPath: hostDir, containerPath: '/airflow/xcom' }],
    })
    expect(proc.bindMounted).toBe(true)
    expect((await proc.exited).exitCode).toBe(0)
    expect(JSON.parse(await readFile(join(hostDir, 'return.json'), 'utf8'))).toEqual({ rows: 3 })
  })

  it('mounts read-only when asked', async (ctx) => {
    if (!(await canBindMount())) ctx.skip()
    const target = join(hostDir, 'mount-point')
    const result = await execInContainer(
      { name: 'base', env: {}, mounts: [{ hostPath: tmpdir(), containerPath: target, readOnly: true }] },
      ['sh', '-c', `echo x > ${target}/f`],
    )
    expect(result.exitCode).not.toBe(0)
    expect(result.stderr.toString()).toMatch(/Read-only file system/)
  })

  it('kills the whole process group, children included', async () => {
    const { proc, childPid } = await startWithChild('sleep 30 & echo $!; wait')
    await until(() => childPid() > 0, 'the child to print its pid')
    expect(await isAlive(childPid())).toBe(true)
    expect(proc.kill('SIGTERM')).toBe(true)
    const exit = await proc.exited
    expect(exit.signal).toBe('SIGTERM')
    expect(exitCodeOf(exit)).toBe(143)
    expect(await isAlive(childPid())).toBe(false)
  })

  it('kills leftover processes when the main process exits, like a container runtime', async () => {
    const { proc, childPid } = await startWithChild('sleep 30 > /dev/null 2>&1 & echo $!')
    expect((await proc.exited).exitCode).toBe(0)
    const pid = childPid()
    expect(pid).toBeGreaterThan(0)
    // The group was SIGKILLed as the main process ended; the kernel ends the child a moment later.
    await until(async () => !(await isAlive(pid)), `leftover process ${pid} to be killed`)
  })

  it('reports a missing executable as a start error', async () => {
    await expect(
      startContainerProcess({ name: 'base', command: ['no-such-binary-x'], env: {} }),
    ).rejects.toThrow(ContainerStartError)
  })

  it('SIGKILLs a process group over its memory limit and says so', async () => {
    const proc = await startContainerProcess({
      name: 'hog',
      command: [node, '-e', 'const a = []; setInterval(() => a.push(Buffer.alloc(16 << 20, 1)), 10)'],
      env: {},
      memoryLimitBytes: 96 * 1024 * 1024,
    })
    const exit = await proc.exited
    expect(exit).toEqual({ exitCode: null, signal: 'SIGKILL', oomKilled: true })
  })
})

describe('execInContainer', () => {
  it('runs with the container env and mounts and returns output and exit code', async () => {
    const bind = await canBindMount()
    const container = {
      name: 'base',
      env: { PODLINE_XCOM_PATH: bind ? '/airflow/xcom/return.json' : join(hostDir, 'return.json') },
      mounts: [{ hostPath: hostDir, containerPath: '/airflow/xcom' }],
    }
    await execInContainer(container, ['sh', '-c', 'echo 42 > "$PODLINE_XCOM_PATH"'])
    const result = await execInContainer(container, ['sh', '-c', 'cat "$PODLINE_XCOM_PATH"; exit 7'])
    expect(result.stdout.toString()).toBe('42\n')
    expect(result.exitCode).toBe(7)
    const echoed = await execInContainer(container, ['cat'], { stdin: 'piped' })
    expect(echoed.stdout.toString()).toBe('piped')
  })
})
