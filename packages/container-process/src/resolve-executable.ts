import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, isAbsolute, join, relative } from 'node:path'
import type { VolumeMount } from './container-spec.js'

/**
 * Finds the executable as the container runtime would, so a missing one fails at start with the
 * runtime's message instead of as a shell's exit code 127. Paths under a mount are looked up on the host.
 */
export async function resolveExecutable(
  executable: string,
  searchPath: string,
  workingDir: string | undefined,
  mounts: readonly VolumeMount[],
): Promise<boolean> {
  if (executable.includes('/')) {
    const absolute = isAbsolute(executable) ? executable : join(workingDir ?? process.cwd(), executable)
    return isExecutable(toHostPath(absolute, mounts))
  }
  for (const dir of searchPath.split(delimiter)) {
    if (dir && (await isExecutable(join(dir, executable)))) return true
  }
  return false
}

/** Maps a path inside the container to the host path behind its mount, if any. */
export function toHostPath(containerPath: string, mounts: readonly VolumeMount[]): string {
  for (const mount of mounts) {
    const rest = relative(mount.containerPath, containerPath)
    if (rest === '' || (!rest.startsWith('..') && !isAbsolute(rest))) return join(mount.hostPath, rest)
  }
  return containerPath
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}
