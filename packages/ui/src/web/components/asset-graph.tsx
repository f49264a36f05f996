import dagre from '@dagrejs/dagre'
import type { MouseEvent } from 'react'
import { useMemo } from 'react'
import { useLocation } from 'wouter'
import type { AssetRow } from '../api.js'

const HEIGHT = 36
const MARGIN = 16

interface GraphNode {
  id: string
  kind: 'pipeline' | 'asset'
  name: string
  href: string
}

interface GraphEdge {
  from: string
  to: string
  /** A producer's tasks, or a consumer's condition when it waits on other assets too. */
  label: string
}

/** Pipelines and assets live in different namespaces: a pipeline and an asset may share a name. */
const pipelineId = (name: string) => `pipeline:${name}`
const assetId = (name: string) => `asset:${name}`

/** The nodes and edges of producer pipeline → asset → consumer pipeline, from the listing. */
export function assetGraph(assets: readonly Pick<AssetRow, 'name' | 'producers' | 'consumers'>[]) {
  const nodes = new Map<string, GraphNode>()
  const edges = new Map<string, GraphEdge>()
  const pipeline = (name: string) => {
    const id = pipelineId(name)
    if (!nodes.has(id))
      nodes.set(id, { id, kind: 'pipeline', name, href: `/?pipeline=${encodeURIComponent(name)}` })
    return id
  }
  for (const a of assets) {
    const id = assetId(a.name)
    nodes.set(id, { id, kind: 'asset', name: a.name, href: `/assets/${encodeURIComponent(a.name)}` })
    for (const p of a.producers) {
      const from = pipeline(p.pipeline)
      const edge = edges.get(`${from}>${id}`)
      // A pipeline with several tasks producing the asset is one edge naming them all.
      if (edge) edge.label = `${edge.label}, ${p.task}`
      else edges.set(`${from}>${id}`, { from, to: id, label: p.task })
    }
    for (const c of a.consumers) {
      const to = pipeline(c.pipeline)
      edges.set(`${id}>${to}`, { from: id, to, label: c.with.length > 0 ? c.mode : '' })
    }
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] }
}

/** Wide enough for the name in the graph's font (13px): no measuring, so the layout is pure. */
const widthOf = (name: string) => Math.max(96, Math.ceil(name.length * 7.6) + 28)

/**
 * Pipelines linked through assets, laid out left to right by dagre and drawn as SVG: a pipeline
 * (its runs on a click) points to each asset it produces, an asset (its page) to each pipeline
 * that runs on it. `all`/`any` label a consumer's edge when it waits on other assets too.
 */
export function AssetGraph({ assets }: { assets: readonly AssetRow[] }) {
  const [, navigate] = useLocation()
  const structure = JSON.stringify(assets.map((a) => [a.name, a.producers, a.consumers]))
  // biome-ignore lint/correctness/useExhaustiveDependencies: laid out again only when the structure changes
  const layout = useMemo(() => {
    const { nodes, edges } = assetGraph(assets)
    const g = new dagre.graphlib.Graph()
    g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 70, marginx: MARGIN, marginy: MARGIN })
    g.setDefaultEdgeLabel(() => ({}))
    for (const n of nodes) g.setNode(n.id, { width: widthOf(n.name), height: HEIGHT })
    for (const e of edges) g.setEdge(e.from, e.to)
    dagre.layout(g)
    const size = g.graph()
    return {
      width: size.width ?? 0,
      height: size.height ?? 0,
      nodes: nodes.map((n) => ({ ...n, ...g.node(n.id) })),
      edges: edges.map((e) => ({
        ...e,
        points: (g.edge(e.from, e.to)?.points ?? []) as Array<{ x: number; y: number }>,
      })),
    }
  }, [structure])
  if (layout.nodes.length === 0) return null
  const follow = (href: string) => (e: MouseEvent) => {
    e.preventDefault()
    navigate(href)
  }
  return (
    <div className="asset-graph" data-testid="asset-graph">
      <svg
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="img"
        aria-label="Pipelines linked through assets"
      >
        <defs>
          <marker
            id="asset-arrow"
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="#6b7280" />
          </marker>
        </defs>
        {layout.edges.map((e) => {
          const [first, ...rest] = e.points
          if (!first) return null
          const middle = e.points[Math.floor(e.points.length / 2)] ?? first
          return (
            <g key={`${e.from}>${e.to}`} data-testid={`graph-edge-${e.from}>${e.to}`}>
              <path
                d={`M${first.x},${first.y}${rest.map((p) => ` L${p.x},${p.y}`).join('')}`}
                className="edge"
                markerEnd="url(#asset-arrow)"
              />
              {e.label && (
                <text x={middle.x} y={middle.y - 5} className="edge-label" textAnchor="middle">
                  {e.label}
                </text>
              )}
            </g>
          )
        })}
        {layout.nodes.map((n) => (
          <a
            key={n.id}
            href={n.href}
            onClick={follow(n.href)}
            data-testid={`graph-${n.kind}-${n.name}`}
            className={`node ${n.kind}`}
          >
            <rect
              x={n.x - n.width / 2}
              y={n.y - HEIGHT / 2}
              width={n.width}
              height={HEIGHT}
              rx={n.kind === 'asset' ? HEIGHT / 2 : 6}
            />
            <text x={n.x} y={n.y} textAnchor="middle" dominantBaseline="central">
              {n.name}
            </text>
          </a>
        ))}
      </svg>
    </div>
  )
}
