import dagre from '@dagrejs/dagre'
import { Background, Controls, type Edge, type Node, Position, ReactFlow } from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import { useMemo } from 'react'
import type { TaskRow } from '../api.js'
import { colourOf } from '../states.js'
import { layeredPositions } from './large-graph-layout.js'

const WIDTH = 180
const HEIGHT = 44
/** Above this many tasks the graph is laid out in linear time (see large-graph-layout.ts). */
const LARGE_GRAPH = 300

/** The run's tasks as a graph laid out left to right by dagre, each node the colour of its state. */
export function RunGraph({
  tasks,
  selected,
  onSelect,
}: {
  tasks: readonly Pick<TaskRow, 'task' | 'needs' | 'state' | 'attempt' | 'items'>[]
  selected: string | undefined
  onSelect: (task: string) => void
}) {
  // The layout depends on the structure only, so a state change recolours without moving anything.
  const structure = tasks.map((t) => `${t.task}<${t.needs.join(',')}`).join(';')
  // biome-ignore lint/correctness/useExhaustiveDependencies: laid out again only when the structure changes
  const positions = useMemo(() => {
    if (tasks.length > LARGE_GRAPH)
      return layeredPositions(tasks, { width: WIDTH, height: HEIGHT, columnGap: 60, rowGap: 24 })
    const g = new dagre.graphlib.Graph()
    g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 60 })
    g.setDefaultEdgeLabel(() => ({}))
    for (const t of tasks) g.setNode(t.task, { width: WIDTH, height: HEIGHT })
    for (const t of tasks) for (const n of t.needs) if (g.hasNode(n)) g.setEdge(n, t.task)
    dagre.layout(g)
    return new Map(tasks.map((t) => [t.task, g.node(t.task)]))
  }, [structure])

  const nodes: Node[] = tasks.map((t) => {
    const p = positions.get(t.task)
    return {
      id: t.task,
      position: { x: (p?.x ?? 0) - WIDTH / 2, y: (p?.y ?? 0) - HEIGHT / 2 },
      // A mapped task is one node, with its items' progress.
      data: { label: t.items ? `${t.task} · ${t.items.byState.success ?? 0}/${t.items.total}` : t.task },
      draggable: false,
      connectable: false,
      // Laid out left to right: edges leave a task on its right and enter the next on its left.
      sourcePosition: Position.Right,
      targetPosition: Position.Left,
      className: `task-node${t.task === selected ? ' selected' : ''}`,
      domAttributes: {
        'data-testid': `task-${t.task}`,
        'data-state': t.state,
        ...(t.items
          ? {
              title: `${t.items.total} items: ${Object.entries(t.items.byState)
                .map(([state, n]) => `${n} ${state}`)
                .join(', ')}`,
            }
          : {}),
      } as Record<string, string>,
      // Known sizes: React Flow shows a node at once instead of hiding it until it has measured it.
      width: WIDTH,
      height: HEIGHT,
      style: { background: colourOf(t.state) },
    }
  })
  const edges: Edge[] = tasks.flatMap((t) =>
    t.needs.map((n) => ({
      id: `${n}->${t.task}`,
      source: n,
      target: t.task,
      animated: t.state === 'running',
    })),
  )
  return (
    <div className="graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        fitView
        // A small graph is drawn at its size, not blown up to fill the frame.
        fitViewOptions={{ maxZoom: 1 }}
        nodesDraggable={false}
        nodesConnectable={false}
        onNodeClick={(_, node) => onSelect(node.id)}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  )
}
