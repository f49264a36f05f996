import { readdir, readFile } from 'node:fs/promises'

/**
 * The resident memory of every process in a process group, in bytes, read from /proc. This is what a
 * cgroup memory limit counts closely enough for a test double, without needing cgroup delegation.
 * Returns 0 where /proc does not exist.
 */
export async function processGroupRssBytes(pgid: number): Promise<number> {
  let entries: string[]
  try {
    entries = await readdir('/proc')
  } catch {
    return 0
  }
  let total = 0
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return
      try {
        const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
        // The command name (field 2) may contain spaces and parentheses; the fields after the last ')' are fixed.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        if (Number(fields[2]) !== pgid) return
        const status = await readFile(`/proc/${entry}/status`, 'utf8')
        const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status)
        if (rss?.[1]) total += Number(rss[1]) * 1024
      } catch {
        // The process exited between readdir and readFile.
      }
    }),
  )
  return total
}
