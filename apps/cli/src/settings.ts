import type { ExecutionFlags, ExecutionSettings, StoreSettings } from '@podline/runner/config'
import { InvalidArgumentError } from 'commander'

// The environment's schema, its defaults and its error format live in @podline/runner/config, which
// every entry point reads; it loads zod and the runner, so it is imported when a verb runs, not at start.
const config = () => import('@podline/runner/config')

/** Where the store is (DATABASE_URL, PODLINE_DATA_DIR, the XCom store); other variables are not read. */
export async function storeSettings(env: NodeJS.ProcessEnv = process.env): Promise<StoreSettings> {
  return (await config()).storeSettings(env)
}

/** Flags win over the environment; the environment over the defaults. */
export async function executionSettings(
  flags: ExecutionFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ExecutionSettings> {
  return (await config()).executionSettings(flags, env)
}

/** A commander argument parser for counts such as --concurrency and --limit. */
export function parseCount(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a whole number of at least 1.')
  return n
}

export function parseRuntime(value: string): 'kubernetes' | 'process' {
  if (value !== 'kubernetes' && value !== 'process')
    throw new InvalidArgumentError('expected kubernetes or process.')
  return value
}
