import { type SQL, sql } from 'drizzle-orm'

// drizzle expands a JS array into a list of parameters, so the statement text would change with the
// array's length (and postgres.js would prepare each length anew). One jsonb parameter keeps it fixed.
export const textArray = (values: readonly string[]): SQL =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`

export const bigintArray = (values: readonly number[]): SQL =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb)::bigint)`

export const QUEUE_CHANNEL = 'podline_queue'
export const CANCEL_CHANNEL = 'podline_cancel'
export const RUN_FINISHED_CHANNEL = 'podline_run_finished'
