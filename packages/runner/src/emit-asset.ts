import { assetNameProblem, findNotJson, type JsonValue } from '@podline/sdk'
import { sql } from 'drizzle-orm'
import { jsonSchemaIssues } from './engine/json-schema-check.js'
import { insertAssetEvent } from './queue/asset-events.js'
import type { Database } from './store/database.js'

/** An emitted event's value at most: events of larger data carry where it is, not the data. */
export const MAX_EMITTED_ASSET_BYTES = 1024 * 1024

/** Why an event was refused; `issues` when its value failed the asset's schema. */
export class AssetEmitError extends Error {
  override readonly name = 'AssetEmitError'
  constructor(
    message: string,
    readonly reason: 'unknown' | 'invalid',
    readonly issues: ReadonlyArray<{ path: string; message: string }> = [],
  ) {
    super(message)
  }
}

/**
 * Records an event of an asset from outside a pipeline (`podline assets emit`, the UI's API): the
 * value is checked against the asset's JSON Schema, as the newest registered pipeline declaring the
 * asset stored it (this code has no pipeline code to run the schema), and the consumers' workers
 * make their runs. A refused value records nothing. Returns the event's id.
 */
export async function emitAssetEvent(database: Database, asset: string, value: unknown): Promise<string> {
  const problem = assetNameProblem(asset)
  if (problem) throw new AssetEmitError(problem, 'unknown')
  const [row] = await database.rows<{ schema: Record<string, unknown>; pipeline: string }>(sql`
    select p.plan -> 'assets' -> ${asset} -> 'jsonSchema' as schema, p.name as pipeline
    from podline.pipelines p
    where p.plan -> 'assets' ? ${asset}
    order by p.created_at desc limit 1`)
  if (!row)
    throw new AssetEmitError(
      `no registered pipeline declares asset "${asset}": start a worker serving a pipeline that produces it or runs on it, then emit (podline assets lists the known ones)`,
      'unknown',
    )
  const notJson = findNotJson(value, 'value')
  if (notJson)
    throw new AssetEmitError(`the value is not JSON: ${notJson.path} is ${notJson.found}`, 'invalid')
  const json = JSON.stringify(value ?? null)
  if (Buffer.byteLength(json) > MAX_EMITTED_ASSET_BYTES)
    throw new AssetEmitError(
      `the value is ${Buffer.byteLength(json)} bytes; an emitted event carries at most ${MAX_EMITTED_ASSET_BYTES} (emit where the data is, not the data)`,
      'invalid',
    )
  const issues = await jsonSchemaIssues(row.schema, value)
  if (issues.length > 0)
    throw new AssetEmitError(
      `the value for asset "${asset}" failed its schema: ${issues.map((i) => `${i.path || 'value'}: ${i.message}`).join('; ')}; no event was recorded`,
      'invalid',
      issues.map((i) => ({ path: i.path, message: i.message })),
    )
  return insertAssetEvent(database, asset, value as JsonValue)
}
