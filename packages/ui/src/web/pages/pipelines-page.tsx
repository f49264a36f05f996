import { useState } from 'react'
import { Link } from 'wouter'
import { api, ok, type Pipeline } from '../api.js'
import { AssetLink } from '../components/asset-links.js'
import { RunGraph } from '../components/run-graph.js'
import { TableHead } from '../components/table-head.js'
import { TriggerForm } from '../components/trigger-form.js'
import { when } from '../states.js'
import { useLoad } from '../use-load.js'

/** Every registered pipeline: structure, versions, schedule with its next tick, pause, and a trigger form. */
export function PipelinesPage() {
  const list = useLoad(() => ok(api.pipelines.$get()), [])
  if (list.error) return <p className="error">{list.error}</p>
  if (!list.data) return <p>Loading…</p>
  return (
    <section>
      <h1>Pipelines</h1>
      {list.data.pipelines.length === 0 && (
        <p>No pipeline is registered yet: a worker registers those it loads.</p>
      )}
      {list.data.pipelines.map((p) => (
        <PipelineCard key={p.name} pipeline={p} reload={list.reload} />
      ))}
    </section>
  )
}

function PipelineCard({ pipeline: p, reload }: { pipeline: Pipeline; reload: () => Promise<void> }) {
  const [triggering, setTriggering] = useState(false)
  const [error, setError] = useState<string>()
  const current = p.versions.find((v) => v.version === p.current) ?? p.versions[0]
  const plan = current?.plan
  const s = p.schedule
  return (
    <article className="pipeline" data-testid={`pipeline-${p.name}`}>
      <h2>
        <Link href={`/?pipeline=${encodeURIComponent(p.name)}`}>{p.name}</Link>
      </h2>
      {plan && (
        <RunGraph
          tasks={plan.tasks.map((t) => ({
            task: t.name,
            needs: t.needs,
            state: 'pending',
            attempt: 0,
            items: null,
          }))}
          selected={undefined}
          onSelect={() => {}}
        />
      )}
      <h3>Versions</h3>
      <table>
        <TableHead columns={['Version', 'Registered', 'Tasks', 'Served']} />
        <tbody>
          {p.versions.map((v) => (
            <tr key={v.version}>
              <td className="mono">
                {v.version}
                {v.version === p.current ? ' (current)' : ''}
              </td>
              <td>{when(v.createdAt)}</td>
              <td>{v.plan.tasks.length}</td>
              <td>{v.served ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Schedule</h3>
      {s ? (
        <div className="schedule">
          <span className="mono">
            {s.cron} ({s.timezone})
          </span>
          {' · '}
          {s.paused ? 'paused' : `next tick ${when(s.nextTick)}`}
          {s.lastLogicalDate && ` · last ${when(s.lastLogicalDate)}`}{' '}
          <button
            type="button"
            data-testid={`pause-${p.name}`}
            onClick={async () => {
              setError(undefined)
              const action = s.paused ? 'unpause' : 'pause'
              await ok(
                api.pipelines[':name'][':action{pause|unpause}'].$post({ param: { name: p.name, action } }),
              ).catch((e: Error) => setError(e.message))
              await reload()
            }}
          >
            {s.paused ? 'Unpause' : 'Pause'}
          </button>
        </div>
      ) : (
        <p>none</p>
      )}
      {error && <p className="error">{error}</p>}
      {plan?.on ? (
        // Its tasks read the events that made the run: it is not triggered by hand.
        <p data-testid={`on-assets-${p.name}`}>
          Runs on {plan.on.mode === 'all' ? 'all of' : 'each event of'}{' '}
          {plan.on.assets.map((name, i) => (
            <span key={name}>
              {i > 0 && ', '}
              <AssetLink name={name} />
            </span>
          ))}
          ; an event starts it, not a trigger.
        </p>
      ) : (
        <>
          <button
            type="button"
            onClick={() => setTriggering(!triggering)}
            data-testid={`open-trigger-${p.name}`}
          >
            {triggering ? 'Close' : 'Trigger…'}
          </button>
          {triggering && <TriggerForm pipeline={p.name} schema={plan?.paramsJsonSchema} />}
        </>
      )}
    </article>
  )
}
