import { useState } from 'react'
import { Link } from 'wouter'
import { type AssetEvent, api, assetParam, ok } from '../api.js'
import { Consumers, EventProducer, Producers } from '../components/asset-links.js'
import { JsonForm } from '../components/json-form.js'
import { TableHead } from '../components/table-head.js'
import { useTransitions } from '../live.js'
import { when } from '../states.js'
import { useLoad } from '../use-load.js'

/** One asset: its producers and consumers, its schema, its events newest first (a page at a time), and an emit form. */
export function AssetPage({ name }: { name: string }) {
  const listing = useLoad(() => ok(api.assets.$get()), [])
  const [older, setOlder] = useState<{ events: AssetEvent[]; next: string | null }>({
    events: [],
    next: null,
  })
  const first = useLoad(async () => {
    const page = await ok(api.assets[':name'].events.$get({ param: assetParam(name), query: {} }))
    setOlder({ events: [], next: page.next })
    return page
  }, [name])
  // A producer's success records an event: the first page is read again when a run ends.
  useTransitions((t) => {
    if (t === 'reset' || t.task === null) void first.reload()
  })
  const asset = listing.data?.assets.find((a) => a.name === name)
  const shown = [...(first.data?.events ?? []), ...older.events]
  const next = older.events.length > 0 ? older.next : (first.data?.next ?? null)

  if (listing.error) return <p className="error">{listing.error}</p>
  if (!listing.data) return <p>Loading…</p>
  if (!asset)
    return (
      <p>
        No registered pipeline declares an asset <span className="mono">{name}</span>.
      </p>
    )
  return (
    <section>
      <h1>
        <Link href="/assets">Assets</Link> / <span data-testid="asset-name">{name}</span>
      </h1>
      <dl className="facts">
        <dt>Producers</dt>
        <dd data-testid="asset-producers">
          <Producers asset={asset} />
        </dd>
        <dt>Consumers</dt>
        <dd data-testid="asset-consumers">
          <Consumers asset={asset} />
        </dd>
        <dt>Schema</dt>
        <dd>
          <details>
            <summary>JSON Schema of its value</summary>
            <pre>{JSON.stringify(asset.jsonSchema, null, 2)}</pre>
          </details>
        </dd>
      </dl>
      <JsonForm
        title="Emit an event"
        action="Emit"
        testId="emit"
        once={false}
        send={async (json) => {
          await ok(api.assets[':name'].events.$post({ param: assetParam(name), json }))
          await Promise.all([first.reload(), listing.reload()])
        }}
      />
      <h2>Events</h2>
      {first.error && <p className="error">{first.error}</p>}
      <table className="asset-events" data-testid="asset-events">
        <TableHead columns={['Event', 'Recorded', 'Producer', 'Value']} />
        <tbody>
          {shown.map((e) => (
            <tr key={e.id} data-event={e.id}>
              <td className="mono">#{e.id}</td>
              <td>{when(e.createdAt)}</td>
              <td>
                <EventProducer producer={e.producer} />
              </td>
              <td>
                <pre className="event-value">{JSON.stringify(e.value, null, 2)}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {first.data && shown.length === 0 && <p>No events yet.</p>}
      {next && (
        <button
          type="button"
          data-testid="older-events"
          onClick={async () => {
            const page = await ok(
              api.assets[':name'].events.$get({ param: assetParam(name), query: { before: next } }),
            )
            setOlder((o) => ({ events: [...o.events, ...page.events], next: page.next }))
          }}
        >
          Older
        </button>
      )}
    </section>
  )
}
