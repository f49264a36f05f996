import type { EventFeed, FeedMessage } from '@podline/runner'
import type { Context } from 'hono'
import { streamSSE } from 'hono/streaming'

const KEEPALIVE_MS = 15_000
/** How soon a browser reconnects after the stream broke (a restart of `podline ui`): it then resumes. */
const RECONNECT_MS = 1000

/**
 * GET /api/events: run and task transitions as Server-Sent Events, each with its event id, so a
 * browser's EventSource resumes after the last one it saw (Last-Event-ID) and misses none. `?run=`
 * keeps one run's. A first `ready` event names where the stream begins; `reset` says the resume
 * point is too old to replay (reload what is shown).
 */
export function eventsRoute(c: Context, feed: EventFeed) {
  const resume = c.req.header('last-event-id') ?? c.req.query('after')
  const afterId = resume !== undefined && /^\d+$/.test(resume) ? BigInt(resume) : undefined
  const run = c.req.query('run')
  return streamSSE(c, async (stream) => {
    const queue: FeedMessage[] = []
    let wake: () => void = () => {}
    const unsubscribe = await feed.subscribe(afterId, (message) => {
      queue.push(message)
      wake()
    })
    stream.onAbort(() => {
      unsubscribe()
      wake()
    })
    await stream.writeSSE({
      event: 'ready',
      id: (afterId ?? feed.cursor).toString(),
      data: '{}',
      retry: RECONNECT_MS,
    })
    while (!stream.aborted) {
      const message = queue.shift()
      if (!message) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, KEEPALIVE_MS)
          wake = () => {
            clearTimeout(timer)
            resolve()
          }
        })
        wake = () => {}
        if (queue.length === 0 && !stream.aborted) await stream.write(': keepalive\n\n')
        continue
      }
      if (message.kind === 'reset') {
        await stream.writeSSE({ event: 'reset', id: message.cursor, data: '{}' })
        continue
      }
      for (const t of message.transitions) {
        if (run !== undefined && t.runId !== run) continue
        await stream.writeSSE({ event: 'transition', id: t.id, data: JSON.stringify(t) })
      }
      // The resume point moves on even past other runs' events, so a reconnect does not replay them.
      const last = message.transitions.at(-1)
      if (run !== undefined && last && last.runId !== run) await stream.write(`id: ${last.id}\n\n`)
    }
    unsubscribe()
  })
}
