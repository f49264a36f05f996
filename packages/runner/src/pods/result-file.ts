import { constants, type Stats } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { TaskFailure } from '../engine/task-failure.js'
import { assertWithinLimit, type ResultChecks } from './xcom-value.js'

/**
 * Reads the process runtime's result file: `undefined` when there is none. The file is written by
 * the task's own processes, so it is treated as hostile: only a regular file is read (a symlink to
 * /dev/zero, a FIFO or a directory is refused, never followed or opened), and at most limit + 1
 * bytes are read, so a file that grows after the size check still costs no more than the limit.
 */
export async function readResultFile(path: string, checks: ResultChecks): Promise<Buffer | undefined> {
  let info: Stats
  try {
    info = await lstat(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  assertRegularFile(info, checks.task)
  assertWithinLimit(info.size, checks)
  // O_NOFOLLOW and O_NONBLOCK: if something else is swapped in after lstat, a symlink fails (ELOOP)
  // and a FIFO opens at once instead of holding a libuv thread until a writer appears.
  const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
  const handle = await open(path, flags).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ELOOP' ? notRegularFile('a symbolic link', checks.task) : error
  })
  try {
    const stat = await handle.stat()
    assertRegularFile(stat, checks.task)
    // Sized by the file, not by the limit (which PODLINE_XCOM_LIMIT_BYTES may raise to gigabytes);
    // one byte more, and doubled while it fills, so a file that grew since is read whole, never past
    // the limit.
    let buffer = Buffer.alloc(Math.min(stat.size, checks.sizeLimitBytes) + 1)
    let total = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total)
      if (bytesRead === 0) break
      total += bytesRead
      if (total < buffer.length) continue
      if (buffer.length > checks.sizeLimitBytes) break
      const larger = Buffer.alloc(Math.min(buffer.length * 2, checks.sizeLimitBytes + 1))
      buffer.copy(larger, 0, 0, total)
      buffer = larger
    }
    assertWithinLimit(total, checks)
    return buffer.subarray(0, total)
  } finally {
    await handle.close()
  }
}

export function assertRegularFile(info: Stats, task: string): void {
  if (info.isFile()) return
  const kind = info.isSymbolicLink()
    ? 'a symbolic link'
    : info.isFIFO()
      ? 'a FIFO'
      : info.isDirectory()
        ? 'a directory'
        : 'not a regular file'
  throw notRegularFile(kind, task)
}

export function notRegularFile(kind: string, task: string): TaskFailure {
  return new TaskFailure(
    `the result of pod task "${task}" at $PODLINE_XCOM_PATH is ${kind}; Podline reads only a regular file there: write the JSON value itself to that path`,
    'fatal',
  )
}
