import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

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

/**
 * PGlite is one PostgreSQL in one process: two processes opening the same folder would corrupt it.
 * A lock file with the owner's pid refuses the second one with a clear error; a lock left by a
 * process that died is taken over.
 */
export function lockEmbeddedStore(dataDir: string): () => void {
  const path = join(dataDir, 'podline.lock')
  for (let tries = 0; tries < 2; tries++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' })
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
      const owner = Number(readFileSync(path, 'utf8'))
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new EmbeddedStoreBusyError(
          `the embedded store in ${dataDir} is in use by another podline process (pid ${owner}); ` +
            'wait for it to finish, use another folder (PODLINE_DATA_DIR), or share work through PostgreSQL (DATABASE_URL)',
        )
      }
      rmSync(path, { force: true })
    }
  }
  throw new EmbeddedStoreBusyError(`could not lock the embedded store in ${dataDir}`)
}
