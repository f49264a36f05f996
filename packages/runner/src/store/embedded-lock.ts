import { createHash } from 'node:crypto'
import { linkSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'

/** A second process asked for an embedded store another one holds: a usage error, exit 2. */
export class EmbeddedStoreBusyError extends Error {
  override readonly name = 'EmbeddedStoreBusyError'
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function busy(dataDir: string, owner: number | undefined): EmbeddedStoreBusyError {
  const who = owner ? `another podline process (pid ${owner})` : 'another podline process'
  return new EmbeddedStoreBusyError(
    `the embedded store in ${dataDir} is in use by ${who}; wait for it to finish, use another folder (PODLINE_DATA_DIR), or share work through PostgreSQL (DATABASE_URL)`,
  )
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8'))
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Writes the owner's pid to `path` complete or not at all: a reader never sees a half-written file. */
function writePidFile(path: string): string {
  const tmp = `${path}.${process.pid}`
  writeFileSync(tmp, String(process.pid))
  return tmp
}

/**
 * PGlite is one PostgreSQL in one process: two processes opening the same folder would corrupt it.
 * The lock must be exact even when several processes start at once against a lock left by a dead
 * one, which a pid file cannot give (two of them can both judge it stale and both take it).
 *
 * On Linux the lock is a listening socket in the abstract namespace, named after the folder: the
 * kernel lets exactly one process bind a name and releases it when that process dies, however it
 * dies, so there is no stale lock to take over. Node has no flock(2); this is the OS lock it does
 * have. `podline.lock` beside the data then only names the owner for the error message.
 *
 * Elsewhere the pid file is the lock, created atomically (a hard link of a complete file), and a
 * lock whose pid is dead is taken over; that takeover can race, so only one process at a time
 * should start against a store left by a crash there.
 */
export async function lockEmbeddedStore(dataDir: string): Promise<() => void> {
  const path = join(dataDir, 'podline.lock')
  if (process.platform === 'linux') return lockWithAbstractSocket(dataDir, path)
  return lockWithPidFile(dataDir, path)
}

async function lockWithAbstractSocket(dataDir: string, path: string): Promise<() => void> {
  const digest = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 40)
  const server: Server = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(`\0podline-store-${digest}`, resolve)
    })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw busy(dataDir, readOwner(path))
    throw error
  }
  // The lock must not keep a process alive that is otherwise done.
  server.unref()
  renameSync(writePidFile(path), path)
  let released = false
  return () => {
    if (released) return
    released = true
    rmSync(path, { force: true })
    server.close()
  }
}

function lockWithPidFile(dataDir: string, path: string): () => void {
  const tmp = writePidFile(path)
  try {
    for (let tries = 0; tries < 2; tries++) {
      try {
        linkSync(tmp, path)
        let released = false
        const release = () => {
          if (released) return
          released = true
          rmSync(path, { force: true })
          process.off('exit', release)
        }
        process.on('exit', release)
        return release
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        const owner = readOwner(path)
        if (owner !== undefined && owner !== process.pid && alive(owner)) throw busy(dataDir, owner)
        rmSync(path, { force: true })
      }
    }
    throw busy(dataDir, readOwner(path))
  } finally {
    rmSync(tmp, { force: true })
  }
}
