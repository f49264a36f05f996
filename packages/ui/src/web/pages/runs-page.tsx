import { RUN_STATES } from '@podline/runner/states'
import { useState } from 'react'
import { Link, useSearchParams } from 'wouter'
import { api, ok, type RunRow } from '../api.js'
import { StateBadge } from '../components/state-badge.js'
import { TableHead } from '../components/table-head.js'
import { useTransitions } from '../live.js'
import { duration, isOpen, when } from '../states.js'
import { useLoad, useNow } from '../use-load.js'

/** Runs newest first, filtered by pipeline and state, a keyset page at a time, kept live. */
export function RunsPage() {
  const [search, setSearch] = useSearchParams()
  const pipeline = search.get('pipeline') ?? ''
  const state = search.get('state') ?? ''
  const [more, setMore] = useState<{ runs: RunRow[]; next: string | null }>({ runs: [], next: null })
  const first = useLoad(async () => {
    const page = await ok(api.runs.$get({ query: { pipeline, state } }))
    setMore({ runs: [], next: page.next })
    return page
  }, [pipeline, state])
  const pipelines = useLoad(() => ok(api.pipelines.$get()), [])
  const shown = [...(first.data?.runs ?? []), ...more.runs]
  const now = useNow(shown.some((r) => isOpen(r.state)))
  const next = more.runs.length > 0 ? more.next : (first.data?.next ?? null)

  useTransitions((t) => {
    if (t === 'reset') return void first.reload()
    const known = shown.find((r) => r.id === t.runId)
    // A run's own transition changes its row; a run not shown yet may belong at the top.
    if (!known || t.task === null) void first.reload()
  })

  const filter = (key: string, value: string) =>
    setSearch((s) => {
      if (value) s.set(key, value)
      else s.delete(key)
      return s
    })

  return (
    <section>
      <h1>Runs</h1>
      <div className="filters">
        <label>
          Pipeline
          <select
            value={pipeline}
            onChange={(e) => filter('pipeline', e.target.value)}
            data-testid="filter-pipeline"
          >
            <option value="">all</option>
            {pipelines.data?.pipelines.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          State
          <select value={state} onChange={(e) => filter('state', e.target.value)} data-testid="filter-state">
            <option value="">all</option>
            {RUN_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      {first.error && <p className="error">{first.error}</p>}
      <table className="runs" data-testid="runs">
        <TableHead columns={['Run', 'Pipeline', 'State', 'Logical date', 'Created', 'Duration']} />
        <tbody>
          {shown.map((r) => (
            <tr key={r.id} data-run={r.id}>
              <td>
                <Link href={`/runs/${r.id}`} className="mono">
                  {r.id.slice(0, 8)}
                </Link>
              </td>
              <td>{r.pipeline}</td>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>{when(r.logicalDate)}</td>
              <td>{when(r.createdAt)}</td>
              <td>{duration(r.startedAt, r.finishedAt, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {first.data && shown.length === 0 && <p>No runs.</p>}
      {next && (
        <button
          type="button"
          onClick={async () => {
            const page = await ok(api.runs.$get({ query: { pipeline, state, after: next } }))
            setMore((m) => ({ runs: [...m.runs, ...page.runs], next: page.next }))
          }}
        >
          More
        </button>
      )}
    </section>
  )
}
