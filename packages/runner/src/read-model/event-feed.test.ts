import { pipeline } from '@podline/sdk'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openFreshDatabase, waitUntil } from '../testing/index.js'
import { triggerPipeline } from '../trigger.js'
import { EventFeed, type FeedMessage } from './event-feed.js'

let fresh: Awaited<ReturnType<typeof openFreshDatabase>>
let sql: postgres.Sql
let feed: EventFeed
let runId: string

beforeAll(async () => {
  fresh = await openFreshDatabase()
  sql = postgres(fresh.url, { max: 2, onnotice: () => {} })
  runId = await triggerPipeline(
    fresh.database,
    pipeline('feed').task('a', () => 1),
    {},
  )
  feed = new EventFeed(fresh.database, { pollMs: 50, holeMs: 3000 })
  await feed.start()
})
afterAll(async () => {
  await feed?.stop()
  await sql?.end()
  await fresh?.close()
})

const ids = (messages: FeedMessage[]) =>
  messages.flatMap((m) => (m.kind === 'transitions' ? m.transitions.map((t) => Number(t.id)) : []))

const insertEvent = (tx: postgres.Sql | postgres.TransactionSql, message: string) =>
  tx`insert into podline.events (run_id, to_state, message) values (${runId}::uuid, 'running', ${message}) returning id::int`

describe('EventFeed', () => {
  it('replays from a resume point, then delivers live, in id order', async () => {
    const got: FeedMessage[] = []
    const unsubscribe = await feed.subscribe(0n, (m) => got.push(m))
    const created = ids(got)
    expect(created.length).toBeGreaterThan(0)
    expect(created).toEqual([...created].sort((a, b) => a - b))
    const [row] = await insertEvent(sql, 'live')
    await waitUntil('the live event', () => ids(got).includes(row?.id))
    expect(ids(got)).toEqual([...created, row?.id])
    unsubscribe()
  })

  it('holds the events behind an uncommitted one until it commits, so none is skipped', async () => {
    const got: FeedMessage[] = []
    const unsubscribe = await feed.subscribe(undefined, (m) => got.push(m))
    let release: () => void = () => {}
    let heldId = 0
    const held = sql.begin(async (tx) => {
      const [row] = await insertEvent(tx, 'slow transaction')
      heldId = row?.id
      await new Promise<void>((resolve) => {
        release = resolve
      })
    })
    await waitUntil('the slow transaction to insert', () => heldId > 0)
    const [later] = await insertEvent(sql, 'committed first')
    // The committed event waits behind the hole, however often the feed reads.
    const reads = feed.reads
    await waitUntil('the feed to read the table three more times', () => feed.reads >= reads + 3)
    expect(ids(got)).not.toContain(later?.id)
    release()
    await held
    await waitUntil('both events', () => ids(got).includes(later?.id))
    expect(ids(got)).toEqual([heldId, later?.id])
    unsubscribe()
  })
})
