import { spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { podline, ROOT, startRunning, tempDir, waitUntil } from '../../apps/cli/src/__tests__/cli.js'

const CONTENDER = join(import.meta.dirname, 'fixtures/cli-lock-contender.ts')
const PIPELINES = join(import.meta.dirname, 'fixtures/cli-pipelines.ts')
const TSX = join(ROOT, 'node_modules/tsx/dist/loader.mjs')
const CONTENDERS = 6
const ROUNDS = 100

function contender(dir: string) {
  const child = spawn(process.execPath, ['--import', TSX, CONTENDER, dir], { cwd: ROOT })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  child.stderr.on('data', (d) => {
    out += d
  })
  return { child, out: () => out }
}

describe('the embedded store lock', () => {
  it('simultaneous starts against a stale lock leave exactly one holder', async () => {
    const dir = tempDir()
    // A lock left by a process that died: its pid no longer runs.
    const dead = spawn('true')
    await new Promise((r) => dead.once('exit', r))
    const all = Array.from({ length: CONTENDERS }, () => contender(dir))
    try {
      await waitUntil('every contender to load', () => all.every((c) => c.out().includes('ready')), 60_000)
      for (let round = 0; round < ROUNDS; round++) {
        writeFileSync(join(dir, 'podline.lock'), String(dead.pid))
        const at = Date.now() + 20
        for (const c of all) c.child.stdin.write(`go ${at} ${round}\n`)
        const answer = new RegExp(`^(held|busy) ${round}\\b.*$`, 'm')
        await waitUntil(`round ${round}'s answers`, () => all.every((c) => answer.test(c.out())), 30_000, 5)
        const answers = all.map((c) => answer.exec(c.out())?.[0] ?? '')
        expect(
          answers.filter((a) => a.startsWith('held')),
          answers.join('\n'),
        ).toHaveLength(1)
        for (const a of answers.filter((a) => a.startsWith('busy')))
          expect(a).toMatch(
            /EmbeddedStoreBusyError: the embedded store in .* is in use by another podline process/,
          )
        for (const c of all) c.child.stdin.write(`release ${round}\n`)
        await waitUntil(
          `round ${round}'s releases`,
          () => all.every((c) => c.out().includes(`released ${round}\n`)),
          30_000,
          5,
        )
      }
    } finally {
      for (const c of all) c.child.stdin.end()
      await Promise.all(
        all.map((c) => new Promise((r) => (c.child.exitCode !== null ? r(null) : c.child.once('exit', r)))),
      )
    }
  })

  it('EmbeddedStoreBusyError is a one-line message and exit 2', async () => {
    const cwd = tempDir()
    const holder = await startRunning(PIPELINES, 'cli-waiting', { cwd })
    try {
      const second = await podline(['runs'], { cwd })
      expect(second.code).toBe(2)
      expect(second.stderr).toMatch(
        new RegExp(
          `^podline: the embedded store in .* is in use by another podline process \\(pid ${holder.child.pid}\\); wait for it to finish, .*\\n$`,
        ),
      )
      expect(second.stderr.trim().split('\n')).toHaveLength(1)
      expect(readFileSync(join(cwd, '.podline/podline.lock'), 'utf8')).toBe(String(holder.child.pid))
    } finally {
      holder.child.kill('SIGKILL')
      await holder.exited
    }
  })
})
