import { Link } from 'wouter'
import { api, ok, type TaskRow } from '../api.js'
import { duration, isOpen, when } from '../states.js'
import { useLoad } from '../use-load.js'
import { JsonForm } from './json-form.js'
import { StateBadge } from './state-badge.js'
import { TableHead } from './table-head.js'
import { TaskLog } from './task-log.js'

/** A task of the run: its attempts, error and stack, log (tailed while it runs) and XComs. */
export function TaskPanel({ runId, task }: { runId: string; task: TaskRow }) {
  return (
    <div className="panel" data-testid="task-panel">
      <h2>
        {task.task} <StateBadge state={task.state} />
      </h2>
      {task.cachedFrom !== null && (
        <p data-testid="task-cached">
          Cached: the output of run{' '}
          <Link href={`/runs/${task.cachedFrom}`} className="mono">
            {task.cachedFrom.slice(0, 8)}
          </Link>
          ; the task did not run
        </p>
      )}
      {task.concurrencyKey !== null && (
        <p data-testid="task-key">
          Concurrency key <span className="mono">{task.concurrencyKey}</span>
          {task.waitsForKey && task.state === 'queued' && ': waiting for a place'}
        </p>
      )}
      <h3>Attempts</h3>
      <table className="attempts">
        <TableHead columns={['#', 'State', 'Started', 'Duration', 'Worker', 'Message']} />
        <tbody>
          {task.attempts.map((a) => (
            <tr key={a.attempt}>
              <td>{a.attempt}</td>
              <td>
                <StateBadge state={a.state} />
              </td>
              <td>{when(a.startedAt)}</td>
              <td>{duration(a.startedAt, a.finishedAt)}</td>
              <td className="mono">{a.worker}</td>
              <td>{a.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {task.error && (
        <>
          <h3>Error</h3>
          <pre className="error" data-testid="task-error">
            {task.error}
          </pre>
          {task.errorStack && (
            <pre className="stack" data-testid="task-stack">
              {task.errorStack}
            </pre>
          )}
        </>
      )}
      {task.kind === 'wait' && task.state === 'queued' && <SignalForm runId={runId} step={task.task} />}
      {task.kind === 'pod' && !task.items && <TaskPod runId={runId} task={task.task} state={task.state} />}
      <TaskLog runId={runId} task={task.task} live={isOpen(task.state)} />
      <TaskXcoms runId={runId} task={task.task} state={task.state} />
    </div>
  )
}

/** A waiting step's signal: its payload as JSON, checked by the step's schema on the server. */
function SignalForm({ runId, step }: { runId: string; step: string }) {
  return (
    <JsonForm
      title="Waiting for a signal"
      action="Send signal"
      testId="signal"
      once
      send={(json) => ok(api.runs[':id'].signal[':step'].$post({ param: { id: runId, step }, json }))}
    />
  )
}

function TaskXcoms({ runId, task, state }: { runId: string; task: string; state: string }) {
  const xcoms = useLoad(
    () => ok(api.runs[':id'].tasks[':task'].xcoms.$get({ param: { id: runId, task } })),
    [runId, task, state],
  )
  const list = xcoms.data?.xcoms ?? []
  return (
    <>
      <h3>XComs</h3>
      {list.length === 0 ? (
        <p>none</p>
      ) : (
        list.map((x) => (
          <div key={x.key} className="xcom">
            <div className="mono">
              {x.key} · attempt {x.attempt} · {x.size} bytes
              {x.offloaded ? ` · in ${x.offloaded.store}, sha256 ${x.offloaded.sha256.slice(0, 12)}…` : ''}
            </div>
            {x.offloaded && x.value === null ? (
              <a
                href={`/api/runs/${runId}/tasks/${encodeURIComponent(task)}/xcoms/${encodeURIComponent(x.key)}/value`}
              >
                the whole value ({x.size} bytes)
              </a>
            ) : (
              <pre data-testid={`xcom-${x.key}`}>{JSON.stringify(x.value, null, 2)}</pre>
            )}
          </div>
        ))
      )}
    </>
  )
}

/** A pod task's pod: its name and namespace, and as the cluster sees it now, phase, containers and events. */
function TaskPod({ runId, task, state }: { runId: string; task: string; state: string }) {
  const pod = useLoad(
    () => ok(api.runs[':id'].tasks[':task'].pod.$get({ param: { id: runId, task } })),
    [runId, task, state],
  )
  if (pod.error) return null
  const p = pod.data
  if (!p) return null
  return (
    <div data-testid="task-pod">
      <h3>Pod</h3>
      <p className="mono">
        {p.namespace}/{p.name}
        {p.status ? (p.status.exists ? ` · ${p.status.phase ?? 'unknown phase'}` : ' · deleted') : ''}
      </p>
      {p.why && <p className="warning">{p.why}</p>}
      {p.status && p.status.containers.length > 0 && (
        <table className="attempts">
          <TableHead columns={['Container', 'State', 'Reason', 'Exit code', 'Restarts']} />
          <tbody>
            {p.status.containers.map((c) => (
              <tr key={c.name}>
                <td className="mono">{c.name}</td>
                <td>{c.state}</td>
                <td>{c.reason}</td>
                <td>{c.exitCode}</td>
                <td>{c.restarts}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {p.status && p.status.events.length > 0 && (
        <pre className="log" data-testid="pod-events">
          {p.status.events
            .map((e) => `${e.at ?? ''} ${e.type ?? ''} ${e.reason ?? ''}: ${e.message ?? ''}`)
            .join('\n')}
        </pre>
      )}
    </div>
  )
}
