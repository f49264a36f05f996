import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs')
const run = promisify(execFile)

/** A measuring script, run by {@link measureWithPeer}. */
export interface PeerMeasureScript {
  /** The script's path; it prints its measure as JSON on its last line of output. */
  readonly script: string
  readonly args: readonly string[]
  /** Added to this process's environment. */
  readonly env: Record<string, string>
  /** What is measured, for the error when the script fails. */
  readonly what: string
}

/**
 * Runs a measuring script under tsx twice, each in a fresh process: first as the peer (PEER=1: the
 * same work without Podline), then through Podline. Their measures, parsed from each run's last line.
 */
export async function measureWithPeer<M>(m: PeerMeasureScript): Promise<{ peer: M; podline: M }> {
  const measure = async (peer: boolean): Promise<M> => {
    const r = await run(process.execPath, [TSX, m.script, ...m.args], {
      env: { ...process.env, ...m.env, PEER: peer ? '1' : '0' },
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`the ${m.what} measure failed: ${(error.stderr ?? error.message).slice(-2000)}`)
    })
    return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as M
  }
  const peer = await measure(true)
  return { peer, podline: await measure(false) }
}
