import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

let cached: Promise<boolean> | undefined

/**
 * Whether containers can get their volumes bind-mounted at the container paths: root, and an
 * `unshare` that can create a private mount namespace in which `mount --bind` works. Probed once by
 * really doing it (capabilities can be dropped even for root, e.g. in an unprivileged container).
 */
export function canBindMount(): Promise<boolean> {
  cached ??= probe()
  return cached
}

async function probe(): Promise<boolean> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const dir = await mkdtemp(join(tmpdir(), 'podline-mount-probe-'))
  try {
    const source = join(dir, 'source')
    const target = join(dir, 'target')
    await writeFile(join(dir, 'marker'), '')
    const script = `mkdir -p "$1" "$2" && touch "$1/seen" && mount --bind "$1" "$2" && test -e "$2/seen"`
    return await new Promise<boolean>((resolve) => {
      execFile(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', script, 'probe', source, target],
        { timeout: 5000 },
        (error) => resolve(error === null),
      )
    })
  } catch {
    return false
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
