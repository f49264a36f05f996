import { type SQL, sql } from 'drizzle-orm'

/**
 * SET items that end a task run's lease: no worker holds it, so no heartbeat renews it, no fence
 * (`lease_owner = <worker>`) matches it and the reconciler never expires it.
 * @example sql`update podline.task_runs set state = ${state('queued')}, ${NO_LEASE} where …`
 */
export const NO_LEASE: SQL = sql`lease_owner = null, lease_expires_at = null`

/** NO_LEASE, and no deadline: the task run's attempt is over, or not yet begun. */
export const NO_LEASE_NO_DEADLINE: SQL = sql`${NO_LEASE}, timeout_at = null`
