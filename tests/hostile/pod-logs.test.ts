import { runLocal, taskLogLines } from '@podline/runner'
import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { usePodRuntimes } from './fixtures/pod-runtimes.js'

/*
 * Pod output is bytes the task chooses: characters cut between two writes, stderr interleaved with
 * stdout, and a flood of lines. Every line must arrive whole, in the task's log on real PostgreSQL.
 */

const { db, runtimes } = usePodRuntimes('podline_hostile_logs')

/** Runs one pod task and returns the lines its container printed, as stored (the `[task] ` prefix dropped). */
async function storedLines(runtime: keyof typeof runtimes, script: string, name: string): Promise<string[]> {
  const p = pipeline(name).pod('talk', {}, { image: 'alpine:3.20', command: ['sh', '-c', script] })
  let runId = ''
  await runLocal(p, {}, { ...runtimes[runtime](), onRun: (id) => (runId = id) })
  const rows = await taskLogLines(db.database, runId, 'talk')
  return rows.map((r) => r.message).flatMap((m) => (m.startsWith('[talk] ') ? [m.slice(7)] : []))
}

describe.each(['process', 'kubernetes'] as const)('pod logs on the %s runtime', (runtime) => {
  it('a UTF-8 character split across two output chunks stays whole, with stderr written between its halves', async () => {
    // é is C3 A9 and ✓ is E2 9C 93: each is cut between two writes, a moment apart so that they are two
    // chunks, and a stderr line arrives in between.
    const script = [
      String.raw`printf 'caf\303'`,
      'sleep 0.2',
      String.raw`printf 'on stderr\n' >&2`,
      'sleep 0.2',
      String.raw`printf '\251 \342\234'`,
      'sleep 0.2',
      String.raw`printf '\223 done\n'`,
    ].join('; ')
    const lines = await storedLines(runtime, script, `hostile-utf8-${runtime}`)
    expect(lines).toContain('café ✓ done')
    expect(lines).toContain('on stderr')
    expect(lines.join('\n')).not.toContain('\uFFFD')
  })

  it('a line of 18,000 bytes of three-byte characters arrives whole, though the log cuts it at 16 KiB', async () => {
    // containerd cuts a long line into 16 KiB entries at the byte: 16,384 is not a multiple of 3.
    const lines = await storedLines(
      runtime,
      "printf '%.0s✓' $(seq 1 6000); echo",
      `hostile-long-line-${runtime}`,
    )
    expect(lines).toEqual(['✓'.repeat(6000)])
  })
})

describe('a flood of pod output', () => {
  // Fails while the worker inserts a batch of log lines in one statement: 20,000 lines are more
  // parameters than PostgreSQL's 65,535 per statement (the log sink must chunk its inserts).
  it('a pod printing 20,000 lines stores 20,000 lines', async () => {
    const lines = await storedLines('process', 'seq 1 20000', 'hostile-flood')
    expect(lines).toHaveLength(20_000)
    expect(lines[0]).toBe('1')
    expect(lines.at(-1)).toBe('20000')
  })
})
