import { SQL, sql } from 'drizzle-orm'
import { events, NO_MAP_INDEX } from '../store/schema.js'

/**
 * What each column of an event holds, as SQL over the rows it is logged from: their columns,
 * `state()` literals, parameters. A column left out is null. The worker and the message may be JS
 * values, sent as parameters.
 */
export interface EventValues {
  runId: SQL
  task?: SQL
  mapIndex?: SQL
  attempt?: SQL
  fromState?: SQL
  toState: SQL
  worker?: SQL | string | null
  message?: SQL | string | null
}

/** The table's order; each column's name comes from the schema (`events[key].name`). */
const COLUMNS: ReadonlyArray<keyof EventValues> = [
  'runId',
  'task',
  'mapIndex',
  'attempt',
  'fromState',
  'toState',
  'worker',
  'message',
]

/** The same columns as the first select's, for each further select of the union. */
type SameColumns<V extends EventValues> = EventValues & {
  [K in keyof V & keyof EventValues]-?: Exclude<EventValues[K], undefined>
} & { [K in Exclude<keyof EventValues, keyof V>]?: never }

/**
 * The insert that logs an event for each row of `from`: the body of a data-modifying CTE, or a
 * statement. `from` is the FROM clause and what follows it (a CTE's name, or a subquery with its
 * order); further selects of the same columns join the same insert with UNION ALL. Each value is
 * named by its column, so a column list and a select list cannot drift apart, and the statement is
 * the one written by hand before (only the columns given, in the table's order): the hot paths'
 * statements, and their plans, stay as they were tuned.
 * @example sql`…, logged as (${insertEvents(sql`moved`, { runId: sql`run_id`, toState: sql`state` })})`
 */
export function insertEvents<V extends EventValues>(
  from: SQL,
  values: V & { [K in Exclude<keyof V, keyof EventValues>]: never },
  ...unionAll: ReadonlyArray<{ from: SQL; values: SameColumns<NoInfer<V>> }>
): SQL {
  const columns = COLUMNS.filter((column) => values[column] !== undefined)
  const select = (source: SQL, row: EventValues) =>
    sql`select ${sql.join(
      columns.map((column) => value(row[column])),
      sql`, `,
    )} from ${source}`
  const selects = [select(from, values), ...unionAll.map((u) => select(u.from, u.values))]
  return sql`insert into podline.events (${sql.raw(columns.map((column) => events[column].name).join(', '))})
      ${sql.join(selects, sql` union all `)}`
}

/** The task run an event is of, from a source that returns its run_id, task and attempt by those names. */
export const TASK_RUN = { runId: sql`run_id`, task: sql`task`, attempt: sql`attempt` } as const

/**
 * TASK_RUN, for a source of items and tasks' own rows alike: with the item's map_index, which an
 * event records as null for a task's own row (NO_MAP_INDEX).
 */
export const TASK_RUN_OR_ITEM = { ...TASK_RUN, mapIndex: sql`nullif(map_index, ${NO_MAP_INDEX})` } as const

const value = (v: SQL | string | null | undefined): SQL => (v instanceof SQL ? v : sql`${v ?? null}`)
