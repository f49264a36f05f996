import type { PipelinePlan } from '@podline/sdk'
import { asc, desc } from 'drizzle-orm'
import { servedVersions } from '../queue/workers.js'
import { listSchedules } from '../schedules/list-schedules.js'
import type { Database } from '../store/database.js'
import { pipelines } from '../store/schema.js'

/**
 * Every registered pipeline: its versions newest first (each with its plan, and whether a live
 * worker serves it), the version `trigger` would queue, and its schedule with the next tick.
 */
export async function pipelinesOverview(database: Database) {
  const [rows, schedules] = await Promise.all([
    database.db
      .select({
        name: pipelines.name,
        version: pipelines.version,
        plan: pipelines.plan,
        createdAt: pipelines.createdAt,
      })
      .from(pipelines)
      .orderBy(asc(pipelines.name), desc(pipelines.createdAt)),
    listSchedules(database),
  ])
  const names = [...new Set(rows.map((r) => r.name))]
  return Promise.all(
    names.map(async (name) => {
      const served = await servedVersions(database, name)
      const versions = rows
        .filter((r) => r.name === name)
        .map((r) => ({
          version: r.version,
          createdAt: r.createdAt,
          served: served.includes(r.version),
          plan: r.plan as PipelinePlan,
        }))
      return {
        name,
        versions,
        /** The version a trigger queues: the newest a live worker serves. */
        current: served[0] ?? null,
        schedule: schedules.find((s) => s.pipeline === name) ?? null,
      }
    }),
  )
}
export type PipelineOverview = Awaited<ReturnType<typeof pipelinesOverview>>[number]
