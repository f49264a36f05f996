import { colourOf } from '../states.js'

export function StateBadge({ state }: { state: string }) {
  return (
    <span className="badge" style={{ background: colourOf(state) }} data-state={state}>
      {state}
    </span>
  )
}
