import { type SQL, sql } from 'drizzle-orm'

// drizzle expands a JS array into a list of parameters, so the statement text would change with the
// array's length (and postgres.js would prepare each length anew). One jsonb parameter keeps it fixed.
export const textArray = (values: readonly string[]): SQL =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`

/** Task run ids are bigint: they travel as decimal strings, never through a JS number. */
export const bigintArray = (values: readonly string[]): SQL =>
  sql`array(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb)::bigint)`
