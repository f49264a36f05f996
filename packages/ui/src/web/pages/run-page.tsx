import { callbackLabel } from '@podline/sdk'
import { Fragment, useState } from 'react'
import { Link } from 'wouter'
import { api, ok, type RunDetail } from '../api.js'
import { AssetLink, EventProducer } from '../components/asset-links.js'
import { RunGraph } from '../components/run-graph.js'
import { RunTimeline } from '../components/run-timeline.js'
import { StateBadge } from '../components/state-badge.js'
import { TaskPanel } from '../components/task-panel.js'
import { useTransitions } from '../live.js'
import { duration, isOpen, when } from '../states.js'
import { useLoad, useNow } from '../use-load.js'

/** One run: its graph, coloured live; a click on a task opens its attempts, log, XComs and error. */
export function RunPage({ id }: { id: string }) {
  const detail = useLoad(() => ok(api.runs[':id'].$get({ param: { id } })), [id])
  const [selected, setSelected] = useState<string>()
  const [actionError, setActionError] = useState<string>()
  const now = useNow(detail.data !== undefined && isOpen(detail.data.run.state))

  useTransitions((t) => {
    if (t === 'reset') return void detail.reload()
    if (t.runId !== id) return
    // Recolour at once from the transition, then read the run for attempts and durations.
    detail.setData((d) => (d ? applyTransition(d, t.task, t.to) : d))
    void detail.reload()
  })

  if (detail.error && !detail.data) return <p className="error">{detail.error}</p>
  const d = detail.data
  if (!d) return <p>Loading…</p>
  const { run } = d
  const open = isOpen(run.state)
  const task = d.tasks.find((t) => t.task === selected)

  async function act(what: 'cancel' | 'retry') {
    const question =
      what === 'cancel'
        ? `Cancel run ${run.id.slice(0, 8)} of ${run.pipeline}? Its running tasks are stopped.`
        : `Retry run ${run.id.slice(0, 8)}: run again its tasks that did not succeed?`
    if (!window.confirm(question)) return
    setActionError(undefined)
    try {
      if (what === 'cancel') await ok(api.runs[':id'].cancel.$post({ param: { id } }))
      else await ok(api.runs[':id'].retry.$post({ param: { id }, json: {} }))
      await detail.reload()
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e))
    }
  }

  return (
    <section>
      <h1>
        <Link href={`/?pipeline=${encodeURIComponent(run.pipeline)}`}>{run.pipeline}</Link>{' '}
        <span className="mono" data-testid="run-id">
          {run.id}
        </span>{' '}
        <StateBadge state={run.state} />
      </h1>
      <dl className="facts">
        <dt>Version</dt>
        <dd className="mono">{run.version}</dd>
        <dt>Created</dt>
        <dd>{when(run.createdAt)}</dd>
        {run.logicalDate && (
          <>
            <dt>Logical date</dt>
            <dd>{when(run.logicalDate)}</dd>
          </>
        )}
        {run.assets && (
          <>
            <dt>Asset events</dt>
            <dd data-testid="run-assets">
              <RunAssets assets={run.assets} />
            </dd>
          </>
        )}
        <dt>Duration</dt>
        <dd>{duration(run.startedAt, run.finishedAt, now)}</dd>
        <dt>Params</dt>
        <dd className="mono">{JSON.stringify(run.params)}</dd>
        {run.deadlineAt && (
          <>
            <dt>Deadline</dt>
            <dd data-testid="deadline">
              {when(run.deadlineAt)}
              {run.deadlineMissedAt && <span className="error"> missed</span>}
            </dd>
          </>
        )}
        {run.concurrencyKey !== null && (
          <>
            <dt>Concurrency key</dt>
            <dd className="mono">{run.concurrencyKey}</dd>
          </>
        )}
        {d.callbacks.map((c) => (
          <Fragment key={callbackLabel(c)}>
            <dt>{callbackLabel(c)}</dt>
            <dd data-testid={c.task ? `callback-${callbackLabel(c)}` : `callback-${c.event}`}>
              <StateBadge state={c.state} /> {c.tries} {c.tries === 1 ? 'try' : 'tries'}
              {c.error && <span className="error"> {c.error}</span>}
            </dd>
          </Fragment>
        ))}
        {run.error && (
          <>
            <dt>Error</dt>
            <dd className="error">{run.error}</dd>
          </>
        )}
      </dl>
      {open && !d.served && (
        <p className="warning">No live worker serves this version: the run waits until one does.</p>
      )}
      <div className="actions">
        <button type="button" disabled={!open} onClick={() => act('cancel')} data-testid="cancel">
          Cancel
        </button>
        <button type="button" disabled={open} onClick={() => act('retry')} data-testid="retry">
          Retry
        </button>
        {actionError && <span className="error">{actionError}</span>}
      </div>
      <RunGraph tasks={d.tasks} selected={selected} onSelect={setSelected} />
      {task && <TaskPanel runId={id} task={task} />}
      <h2>Timeline</h2>
      <RunTimeline tasks={d.tasks} runStart={run.startedAt} now={now} onSelect={setSelected} />
    </section>
  )
}

/** The asset events that created the run: each asset, its event, who recorded it and its value. */
function RunAssets({ assets }: { assets: NonNullable<RunDetail['run']['assets']> }) {
  return (
    <ul className="plain">
      {Object.entries(assets).map(([name, e]) => (
        <li key={name} data-testid={`run-asset-${name}`}>
          <AssetLink name={name} /> event <span className="mono">#{e.id}</span> of {when(e.createdAt)},{' '}
          <EventProducer producer={e.producer} />: <span className="mono">{JSON.stringify(e.value)}</span>
        </li>
      ))}
    </ul>
  )
}

function applyTransition(d: RunDetail, task: string | null, to: string): RunDetail {
  if (task === null) return { ...d, run: { ...d.run, state: to as RunDetail['run']['state'] } }
  return {
    ...d,
    tasks: d.tasks.map((t) =>
      t.task === task ? { ...t, state: to as RunDetail['tasks'][number]['state'] } : t,
    ),
  }
}
