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
    assertRegularFile(await handle.stat(), checks.task)
    const buffer = Buffer.alloc(checks.sizeLimitBytes + 1)
    let total = 0
    while (total < buffer.length) {
      const { bytesRead } = await handle.read(buffer, total, buffer.length - total, total)
      if (bytesRead === 0) break
      total += bytesRead
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
