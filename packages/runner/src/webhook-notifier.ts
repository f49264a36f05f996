import type { CallbackContext, RunEnded, RunPastDeadline, TaskEnded } from '@podline/sdk'

/** What a webhook can be told: a run's end, a run past its deadline, or a task run's attempt. */
export type WebhookEvent = RunEnded<unknown> | RunPastDeadline<unknown> | TaskEnded<unknown>

export interface WebhookOptions {
  /**
   * Where to POST: a URL, or `{ env: 'NAME' }` to read it from the worker's environment when the
   * callback runs (a Kubernetes Secret mounted as a variable keeps it out of the code).
   */
  url: string | { env: string }
  /** The message; default: see describeRunEnd. */
  text?: (event: WebhookEvent) => string
  /** One request's deadline, under the callback's own (its signal). Default 10 s. */
  timeoutMs?: number
}

/**
 * The default message, what a person paged at night needs first: the pipeline, the run's id and
 * state (or the deadline it missed), and each failed task with its error; for a task's callback, the
 * task, its attempt and its error.
 */
export function describeRunEnd(event: WebhookEvent): string {
  const when = event.logicalDate ? ` (logical date ${event.logicalDate})` : ''
  if ('task' in event) {
    const item = event.mapIndex === null ? '' : `[${event.mapIndex}]`
    const what = event.state === 'up_for_retry' ? 'failed, retrying' : event.state
    const error = event.error ? `: ${event.error.split('\n')[0]}` : ''
    return `${event.pipeline}: run ${event.runId}${when}, task ${event.task}${item} attempt ${event.attempt} ${what}${error}`
  }
  const state =
    'deadlineAt' in event ? `missed its deadline ${event.deadlineAt} (${event.state})` : event.state
  const head = `${event.pipeline}: run ${event.runId} ${state}${when}`
  const failed = event.failedTasks.map((t) => `• ${t.task} (attempt ${t.attempt}): ${t.error.split('\n')[0]}`)
  return [head, ...failed].join('\n')
}

/**
 * A callback (a run's onFailure, onSuccess, onDeadline; a task's or a pipeline's onRetry, a task's
 * onFailure or onSuccess) that POSTs Slack-compatible JSON (`{ "text": … }`, which Slack's incoming webhooks,
 * Mattermost and most chat bridges take) to a webhook. A non-2xx answer or a request past its
 * deadline throws, so the callback is tried again with its backoff; it runs after the run has
 * ended, so a slow or failing endpoint never holds the run up.
 * @example
 * pipeline('nightly', { onFailure: webhook({ url: { env: 'SLACK_WEBHOOK_URL' } }) })
 */
export function webhook(
  options: WebhookOptions,
): (event: WebhookEvent, ctx: CallbackContext) => Promise<void> {
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
