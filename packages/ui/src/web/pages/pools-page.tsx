import { useState } from 'react'
import { api, ok, type PoolRow } from '../api.js'
import { TableHead } from '../components/table-head.js'
import { useLoad } from '../use-load.js'

/** The pools: slots, the slots running task runs take, what waits; each editable, and a new one. */
export function PoolsPage() {
  const list = useLoad(() => ok(api.pools.$get()), [])
  const [error, setError] = useState<string>()
  if (list.error) return <p className="error">{list.error}</p>
  if (!list.data) return <p>Loading…</p>
  const act = async (what: () => Promise<unknown>) => {
    setError(undefined)
    try {
      await what()
      await list.reload()
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e))
    }
  }
  return (
    <section>
      <h1>Pools</h1>
      <p>
        A task takes slots of a pool with <code>pool</code> (and <code>poolSlots</code>) in its options:
        across all workers, the running task runs of a pool never take more slots than it has.
      </p>
      <table className="pools" data-testid="pools">
        <TableHead columns={['Pool', 'Slots', 'Running slots', 'Queued', 'Description', '']} />
        <tbody>
          {list.data.pools.map((p) => (
            <PoolLine
              key={p.name}
              pool={p}
              save={(slots) =>
                act(() => ok(api.pools[':name'].$put({ param: { name: p.name }, json: { slots } })))
              }
              remove={() => act(() => ok(api.pools[':name'].$delete({ param: { name: p.name } })))}
            />
          ))}
        </tbody>
      </table>
      <NewPool
        create={(name, slots, description) =>
          act(() => ok(api.pools[':name'].$put({ param: { name }, json: { slots, description } })))
        }
      />
      {error && (
        <p className="error" data-testid="pool-error">
          {error}
        </p>
      )}
    </section>
  )
}

function PoolLine({
  pool: p,
  save,
  remove,
}: {
  pool: PoolRow
  save: (slots: number) => Promise<void>
  remove: () => Promise<void>
}) {
  const [slots, setSlots] = useState(String(p.slots ?? 0))
  return (
    <tr data-testid={`pool-${p.name}`}>
      <td className="mono">{p.name}</td>
      <td>
        <input
          type="number"
          min={0}
          value={slots}
          onChange={(e) => setSlots(e.target.value)}
          data-testid={`pool-${p.name}-slots`}
        />{' '}
        <button type="button" onClick={() => void save(Number(slots))} data-testid={`pool-${p.name}-save`}>
          Save
        </button>
        {p.slots === null && (
          <span className="warning"> missing: its task runs wait until it is created</span>
        )}
      </td>
      <td data-testid={`pool-${p.name}-running`}>{p.runningSlots}</td>
      <td>{p.queued}</td>
      <td>{p.description}</td>
      <td>
        <button
          type="button"
          onClick={() => {
            if (confirm(`Delete pool ${p.name}?`)) void remove()
          }}
          data-testid={`pool-${p.name}-delete`}
        >
          Delete
        </button>
      </td>
    </tr>
  )
}

function NewPool({
  create,
}: {
  create: (name: string, slots: number, description: string) => Promise<void>
}) {
  const [name, setName] = useState('')
  const [slots, setSlots] = useState('1')
  const [description, setDescription] = useState('')
  return (
    <form
      className="new-pool"
      onSubmit={(e) => {
        e.preventDefault()
        void create(name, Number(slots), description)
      }}
    >
      <h2>New pool</h2>
      <input
        placeholder="name"
        value={name}
        onChange={(e) => setName(e.target.value)}
        data-testid="new-pool-name"
      />
      <input
        type="number"
        min={0}
        value={slots}
        onChange={(e) => setSlots(e.target.value)}
        data-testid="new-pool-slots"
      />
      <input
        placeholder="what it guards"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
        data-testid="new-pool-description"
      />
      <button type="submit" data-testid="new-pool-create">
        Create
      </button>
    </form>
  )
}
