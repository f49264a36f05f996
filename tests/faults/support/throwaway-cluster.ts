import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

/**
 * A PostgreSQL cluster of the test's own (initdb + pg_ctl) on another port, so the test can restart
 * it without touching the machine's server. PostgreSQL refuses to run as root, so as root the
 * commands run as the `postgres` OS user, in a folder that user owns.
 */
export interface ThrowawayCluster {
  readonly url: string
  restart(): void
  /** Stops the server (immediately) and removes its folder; safe to call twice. */
  destroy(): void
}

const BIN_DIRS = ['/usr/local/bin', '/usr/lib/postgresql/15/bin']

export function startThrowawayCluster(port: number): ThrowawayCluster {
  const dir = mkdtempSync(join(tmpdir(), 'podline-pg-'))
  const data = join(dir, 'data')
  const asRoot = userInfo().uid === 0
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
    chmodSync(dir, 0o700)
  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? 'runuser' : tool
    const argv = asRoot ? ['-u', 'postgres', '--', tool, ...args] : args
    execFileSync(command, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${BIN_DIRS.join(':')}:${process.env.PATH ?? ''}` },
      timeout: 60_000,
    })
  }
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`
  let live = false
  const destroy = () => {
    if (live) {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } catch {
        // Already stopped, or never started: the folder goes either way.
      }
      live = false
    }
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
    live = true
    run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start'])
  } catch (error) {
    destroy()
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? ''
    throw new Error(`could not start a throwaway PostgreSQL on port ${port}: ${stderr || error}`)
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () =>
      run('pg_ctl', [
        '-D',
        data,
        '-o',
        options,
        '-l',
        join(dir, 'server.log'),
        '-m',
        'fast',
        '-w',
        'restart',
      ]),
    destroy,
  }
}
