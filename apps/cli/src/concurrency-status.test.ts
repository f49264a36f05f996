import { triggerPipeline } from '@podline/runner'
import { pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { podline, useCliDatabase } from './__tests__/cli.js'

const db = useCliDatabase()

const sync = pipeline('sync-customer', {
  params: z.object({ customer: z.string() }),
  concurrency: { key: ({ params }) => params.customer },
}).task('pull', async () => 1)

describe('podline status of a keyed run', () => {
  it('names the key of a running run, and what a queued one waits for', async () => {
    // No worker: the first run of the key is admitted at its trigger, the second waits behind it.
    const first = await triggerPipeline(db.database, sync, { customer: 'acme' })
    const second = await triggerPipeline(db.database, sync, { customer: 'acme' })
    const running = await podline(['status', first], { env: db.env })
    expect(running.stderr).toBe('')
    expect(running.stdout).toContain('\nconcurrency key "acme" (at most 1 run at once)\n')
    const waiting = await podline(['status', second], { env: db.env })
    expect(waiting.stdout).toContain(
      '\nwaiting: concurrency key "acme" allows 1 run at once; it starts when one ends, oldest first\n',
    )
  })
})
