import { api, ok } from '../api.js'
import { AssetGraph } from '../components/asset-graph.js'
import { AssetLink, Consumers, EventProducer, Producers } from '../components/asset-links.js'
import { TableHead } from '../components/table-head.js'
import { useTransitions } from '../live.js'
import { when } from '../states.js'
import { useLoad } from '../use-load.js'

/** Every asset the registered pipelines declare: who produces it, who runs on it, its last event; and their graph. */
export function AssetsPage() {
  const list = useLoad(() => ok(api.assets.$get()), [])
  // A run's end may have recorded an event (a producer) or come from one (a consumer).
  useTransitions((t) => {
    if (t === 'reset' || t.task === null) void list.reload()
  })
  if (list.error) return <p className="error">{list.error}</p>
  if (!list.data) return <p>Loading…</p>
  const { assets } = list.data
  return (
    <section>
      <h1>Assets</h1>
      {assets.length === 0 ? (
        <p>
          No asset is declared yet: a pipeline declares one with <code>produces</code> or <code>on</code>,
          registered when a worker serving it starts.
        </p>
      ) : (
        <>
          <p>
            A task that <code>produces</code> an asset records an event of it with each success; a pipeline{' '}
            <code>on</code> assets runs on their events. Events may also be emitted from outside.
          </p>
          <AssetGraph assets={assets} />
          <table className="assets" data-testid="assets">
            <TableHead columns={['Asset', 'Producers', 'Consumers', 'Last event']} />
            <tbody>
              {assets.map((a) => (
                <tr key={a.name} data-testid={`asset-${a.name}`}>
                  <td>
                    <AssetLink name={a.name} />
                  </td>
                  <td>
                    <Producers asset={a} />
                  </td>
                  <td>
                    <Consumers asset={a} />
                  </td>
                  <td>
                    {a.lastEvent ? (
                      <>
                        {when(a.lastEvent.createdAt)}
                        <br />
                        <EventProducer producer={a.lastEvent.producer} />
                      </>
                    ) : (
                      <span className="muted">none yet</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  )
}
