import { sql } from 'drizzle-orm'
import { OPEN_TASK_STATES } from '../engine/states.js'
import type { Database } from '../store/database.js'
import { state, states } from './sql-values.js'

/** The task runs that have not ended and take slots of a pool: what keeps it from being deleted. */
export interface PoolUsers {
  running: number
  /** Queued, or up for retry. */
  queued: number
  /** Waiting for their upstream tasks. */
  pending: number
}

export type PoolDeletion =
  | { outcome: 'deleted' }
  | { outcome: 'missing' }
  | { outcome: 'in-use'; users: PoolUsers }

/**
 * Deletes a pool (`podline pools delete`), unless task runs that have not ended take slots of it:
 * without its row they could never be claimed. Finished task runs keep its name (no foreign key), so
 * history stays as it was. A run created from a version that names the pool after it is deleted
 * waits, queued, until `podline pools set` creates it again (`podline pools` lists it as missing);
 * a worker loading such a version fails to register it.
 *
 * Counting the pending task runs reads every open task run of the store (no index has the pool
 * beside them): an operator's verb, rare, whose answer must be right.
 */
export async function deletePool(database: Database, name: string): Promise<PoolDeletion> {
  const [row] = await database.rows<PoolUsers & { existed: boolean; deleted: boolean }>(sql`
    with pool as (
      select name from podline.pools where name = ${name} for update
    ), users as (
      select count(*) filter (where state = ${state('running')})::int as running,
             count(*) filter (where state in ${states('queued', 'up_for_retry')})::int as queued,
             count(*) filter (where state = ${state('pending')})::int as pending
      from podline.task_runs where pool = ${name} and state in ${states(...OPEN_TASK_STATES)}
    ), deleted as (
      delete from podline.pools p using pool, users
      where p.name = pool.name and users.running + users.queued + users.pending = 0
      returning p.name
    )
    select exists(select 1 from pool) as existed, exists(select 1 from deleted) as deleted, users.* from users`)
  if (!row?.existed) return { outcome: 'missing' }
  if (row.deleted) return { outcome: 'deleted' }
  return { outcome: 'in-use', users: { running: row.running, queued: row.queued, pending: row.pending } }
}

/** Why a pool in use was not deleted, and what to do: `podline pools delete` and the UI say the same. */
export function poolInUseMessage(name: string, users: PoolUsers): string {
  const { running, queued, pending } = users
  const parts = (
    [
      [running, 'running'],
      [queued, 'queued'],
      [pending, 'pending'],
    ] as const
  )
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
  const total = running + queued + pending
  return (
    `pool "${name}" is in use by ${total} task run${total === 1 ? '' : 's'} that ha${total === 1 ? 's' : 've'} not ended (${parts.join(', ')}); ` +
    'delete it once they end, or cancel their runs (podline cancel RUN)'
  )
}
