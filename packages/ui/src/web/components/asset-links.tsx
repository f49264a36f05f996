import { Link } from 'wouter'
import type { AssetRow } from '../api.js'

/** A pipeline's name, linked to its runs. */
export function PipelineLink({ name }: { name: string }) {
  return <Link href={`/?pipeline=${encodeURIComponent(name)}`}>{name}</Link>
}

/** An asset's name, linked to its page. */
export function AssetLink({ name }: { name: string }) {
  return (
    <Link href={`/assets/${encodeURIComponent(name)}`} className="mono">
      {name}
    </Link>
  )
}

/** Who recorded an event: the producing task and its run (linked), or an emit from outside. */
export function EventProducer({ producer }: { producer: NonNullable<AssetRow['lastEvent']>['producer'] }) {
  if (!producer) return <span className="muted">emitted</span>
  return (
    <span data-testid="event-producer">
      {producer.pipeline}.{producer.task} in run{' '}
      <Link href={`/runs/${producer.runId}`} className="mono">
        {producer.runId.slice(0, 8)}
      </Link>
    </span>
  )
}

/** The pipelines and tasks that produce an asset, one a line. */
export function Producers({ asset }: { asset: Pick<AssetRow, 'producers'> }) {
  if (asset.producers.length === 0) return <span className="muted">none (emitted only)</span>
  return (
    <ul className="plain">
      {asset.producers.map((p) => (
        <li key={`${p.pipeline}.${p.task}`}>
          <PipelineLink name={p.pipeline} />.{p.task}
        </li>
      ))}
    </ul>
  )
}

/** The pipelines that run on an asset, with the other assets of their condition. */
export function Consumers({ asset }: { asset: Pick<AssetRow, 'consumers'> }) {
  if (asset.consumers.length === 0) return <span className="muted">none</span>
  return (
    <ul className="plain">
      {asset.consumers.map((c) => (
        <li key={c.pipeline}>
          <PipelineLink name={c.pipeline} />
          {c.with.length > 0 && (
            <span className="muted">
              {' '}
              ({c.mode === 'all' ? 'with each of' : 'or on'} {c.with.join(', ')})
            </span>
          )}
        </li>
      ))}
    </ul>
  )
}
