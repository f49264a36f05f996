import { type SQL, sql } from 'drizzle-orm'
import type { Database } from '../store/database.js'
import { state } from './sql-values.js'

/** A cache entry as a hit takes it. */
export interface CacheHit {
  value: unknown
  size: number
  /** The run whose success stored it. */
  runId: string
}

/**
 * A CTE of the completion's statement (finish-attempt.ts): each success of a task with a cache
 * stores its output under its key, replacing an older entry of the key, in the statement that
 * stores the success. A hit stores nothing (its entry is there). Two endings of one key in one
 * batch store one entry: an upsert may not touch a row twice.
 */
export function storeCacheEntries(done: SQL): SQL {
  return sql`cache_stored as (
      insert into podline.task_cache as c (pipeline, task, key, value, size, run_id, expires_at)
      select distinct on (pipeline, task, cache_key)
             pipeline, task, cache_key, coalesce(output, 'null'::jsonb), size, run_id,
             now() + cache_ttl_ms * interval '1 millisecond'
      from ${done}
      where state = ${state('success')} and cache_key is not null and cached_from is null
      order by pipeline, task, cache_key
      on conflict (pipeline, task, key) do update
        set value = excluded.value, size = excluded.size, run_id = excluded.run_id,
            created_at = now(), expires_at = excluded.expires_at
    )`
}

/** The key a lookup asks for. */
export interface CacheLookup {
  pipeline: string
  task: string
  key: string
}

/** A live entry found for a lookup, with the lookup's index. */
export interface FoundCacheEntry extends CacheHit {
  index: number
}

/** The live entries of many keys in one statement: each found one with its lookup's index. */
export async function findCacheEntries(
  database: Database,
  lookups: readonly CacheLookup[],
): Promise<FoundCacheEntry[]> {
  return database.rows<FoundCacheEntry>(sql`
    select w.index, c.value, c.size, c.run_id as "runId"
    from jsonb_to_recordset(${JSON.stringify(lookups.map((l, index) => ({ ...l, index })))}::jsonb)
           as w(pipeline text, task text, key text, index int)
    join podline.task_cache c using (pipeline, task, key)
    where c.expires_at is null or c.expires_at > now()`)
}

/** Retention: deletes the entries that have expired; returns how many. */
export async function deleteExpiredCacheEntries(database: Database): Promise<number> {
  const rows = await database.rows(sql`
    delete from podline.task_cache where expires_at <= now() returning 1`)
  return rows.length
}
