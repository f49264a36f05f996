import type { JsonValue } from '@podline/sdk'
import { useState } from 'react'

/**
 * A JSON value typed by hand and sent to the server, which checks it against a schema (a wait
 * step's signal, an asset's event): what it refuses is shown with its messages. `testId` prefixes
 * the form's parts (`-form`, `-payload`, `-send`, `-sent`, `-problem`).
 */
export function JsonForm({
  title,
  action,
  testId,
  once,
  initial = '{}',
  send,
}: {
  title: string
  action: string
  testId: string
  /** Sent once only (a signal ends its wait); otherwise the form stays for another value. */
  once: boolean
  initial?: string
  send: (json: JsonValue) => Promise<unknown>
}) {
  const [payload, setPayload] = useState(initial)
  const [problem, setProblem] = useState<string>()
  const [sent, setSent] = useState(0)
  const submit = async () => {
    setProblem(undefined)
    let json: JsonValue
    try {
      json = JSON.parse(payload) as JsonValue
    } catch (e) {
      return setProblem(`not JSON: ${e instanceof Error ? e.message : String(e)}`)
    }
    try {
      await send(json)
      setSent((n) => n + 1)
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e))
    }
  }
  return (
    <div className="json-form" data-testid={`${testId}-form`}>
      <h3>{title}</h3>
      <textarea
        className="mono"
        rows={4}
        value={payload}
        onChange={(e) => setPayload(e.target.value)}
        data-testid={`${testId}-payload`}
      />
      <div className="actions">
        <button
          type="button"
          disabled={once && sent > 0}
          onClick={() => void submit()}
          data-testid={`${testId}-send`}
        >
          {action}
        </button>
        {sent > 0 && !problem && (
          <span data-testid={`${testId}-sent`}>{once ? 'sent' : `sent (${sent})`}</span>
        )}
        {problem && (
          <span className="error" data-testid={`${testId}-problem`}>
            {problem}
          </span>
        )}
      </div>
    </div>
  )
}
