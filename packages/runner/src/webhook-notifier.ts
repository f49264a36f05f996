import type { RunCallback, RunEnded } from '@podline/sdk'

export interface WebhookOptions {
  /**
   * Where to POST: a URL, or `{ env: 'NAME' }` to read it from the worker's environment when the
   * callback runs (a Kubernetes Secret mounted as a variable keeps it out of the code).
   */
  url: string | { env: string }
  /** The message; default: the pipeline, the run's state and id, and each failed task with its error. */
  text?: (run: RunEnded<unknown>) => string
  /** One request's deadline, under the callback's own (its signal). Default 10 s. */
  timeoutMs?: number
}

/** The default message: what a person paged at night needs first. */
export function describeRunEnd(run: RunEnded<unknown>): string {
  const head = `${run.pipeline}: run ${run.runId} ${run.state}${run.logicalDate ? ` (logical date ${run.logicalDate})` : ''}`
  const failed = run.failedTasks.map((t) => `• ${t.task} (attempt ${t.attempt}): ${t.error.split('\n')[0]}`)
  return [head, ...failed].join('\n')
}

/**
 * A run callback that POSTs Slack-compatible JSON (`{ "text": … }`, which Slack's incoming webhooks,
 * Mattermost and most chat bridges take) to a webhook. A non-2xx answer or a request past its
 * deadline throws, so the callback is tried again with its backoff; it runs after the run has
 * ended, so a slow or failing endpoint never holds the run up.
 * @example
 * pipeline('nightly', { onFailure: webhook({ url: { env: 'SLACK_WEBHOOK_URL' } }) })
 */
export function webhook(options: WebhookOptions): RunCallback<unknown> {
  const timeoutMs = options.timeoutMs ?? 10_000
  return async (run, ctx) => {
    const url = typeof options.url === 'string' ? options.url : process.env[options.url.env]
    if (!url)
      throw new Error(
        `the webhook's URL comes from ${typeof options.url === 'string' ? 'its url option' : `$${options.url.env}`}, which is empty on this worker; set it where the worker runs`,
      )
    const text = (options.text ?? describeRunEnd)(run)
    let response: Response
    let answer: string
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
        // Its own deadline, and the callback's: whichever comes first ends the request.
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
      })
      // The body is read so the connection is released; a chat's error page can be long.
      answer = (await response.text()).slice(0, 200)
    } catch (error) {
      const e = error as Error & { cause?: Error }
      if (e.name === 'TimeoutError') throw new Error(`the webhook did not answer within ${timeoutMs} ms`)
      throw new Error(`the webhook could not be reached: ${e.cause?.message ?? e.message}`)
    }
    if (!response.ok)
      throw new Error(`the webhook answered ${response.status} ${response.statusText}: ${answer}`)
  }
}
