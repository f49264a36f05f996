import type { TriggerRule } from '@podline/sdk'
import { match } from 'ts-pattern'

/** How the upstream tasks of a pending task ended so far. */
export interface UpstreamCounts {
  total: number
  success: number
  /** failed or upstream_failed */
  failed: number
  skipped: number
  /** in a terminal state (success, failed, upstream_failed, skipped, cancelled) */
  done: number
}

export type Promotion = 'queue' | 'skip' | 'upstream_failed' | 'wait'

/**
 * Airflow's trigger rules. A decision is taken as early as the outcome is certain, so a failed
 * upstream marks an all_success task upstream_failed without waiting for its siblings.
 */
export function decidePromotion(rule: TriggerRule, c: UpstreamCounts): Promotion {
  const allDone = c.done === c.total
  return match(rule)
    .with('all_success', () =>
      c.failed > 0 ? 'upstream_failed' : c.success === c.total ? 'queue' : allDone ? 'skip' : 'wait',
    )
    .with('all_done', () => (allDone ? 'queue' : 'wait'))
    .with('all_failed', () => (c.success > 0 || c.skipped > 0 ? 'skip' : allDone ? 'queue' : 'wait'))
    .with('one_success', () =>
      c.success > 0 ? 'queue' : allDone ? (c.failed > 0 ? 'upstream_failed' : 'skip') : 'wait',
    )
    .with('one_failed', () => (c.failed > 0 ? 'queue' : allDone ? 'skip' : 'wait'))
    .with('none_failed', () => (c.failed > 0 ? 'upstream_failed' : allDone ? 'queue' : 'wait'))
    .exhaustive() satisfies Promotion
}
