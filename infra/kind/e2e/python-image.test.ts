import { describe, expect, it } from 'vitest'
import { pythonPodPipeline } from '../../../examples/python-pod.js'
import { clusterOf, clusterOnly, type E2eCluster, probeCluster, requiring, title } from './support/cluster.js'
import { podLines, runOnCluster } from './support/run.js'
import { useScenarioNamespace } from './support/scenario-namespace.js'

// examples/python-pod.ts on a real cluster: its `score` pod runs score.py in a real image with
// CPython, pydantic and the podline package (infra/images/local/build.sh python), which checks the
// result in the pod before the worker reads it.

/**
 * An image with CPython, the podline package and examples/python in /app: infra/cluster/test.sh
 * sets podline.local/python:1, which up.sh builds and imports once .venv has pydantic.
 */
// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by infra/cluster/test.sh for this suite only, no build reads it.
const PYTHON_IMAGE = process.env.PODLINE_E2E_PYTHON_IMAGE || undefined

/** Why the scenario cannot run on this cluster: no image named, or not on any node. */
async function pythonImageMissing(cluster: E2eCluster): Promise<string | undefined> {
  if (!PYTHON_IMAGE)
    return 'PODLINE_E2E_PYTHON_IMAGE is not set (infra/cluster/test.sh sets it to podline.local/python:1)'
  const nodes = await cluster.core.listNode()
  const names = nodes.items.flatMap((n) => n.status?.images ?? []).flatMap((i) => i.names ?? [])
  if (names.includes(PYTHON_IMAGE)) return undefined
  return `${PYTHON_IMAGE} is not on the cluster's nodes (infra/cluster/up.sh imports it once .venv has pydantic: bash scripts/python-env.sh)`
}

const found = await probeCluster()
const onDouble = clusterOnly(
  'the double runs a command on this machine, not in an image (examples/python-pod.test.ts runs the script here)',
)
const missing = found.ok ? (onDouble(found.cluster) ?? (await pythonImageMissing(found.cluster))) : undefined
const probe = requiring(found, () => missing)

describe.skipIf(!probe.ok)(title('a Python pod task in a real CPython image', probe), () => {
  const place = useScenarioNamespace(probe, 'podline-e2e-python')

  /** The example's pipeline: extract in the shell image, score in the Python image's /app. */
  function example() {
    const cluster = clusterOf(probe)
    return pythonPodPipeline({
      extract: cluster.shellImage,
      score: PYTHON_IMAGE ?? '',
      scoreCommand: ['python3', '/app/score.py'],
    })
  }

  it('hands the typed result of the Python pod to the task downstream', async () => {
    const run = await runOnCluster(clusterOf(probe), example(), place)
    expect(run.error).toBeUndefined()
    expect(run.outputs?.score).toEqual({ file: 'orders.csv', count: 3, total: 50, largest: 30 })
    // report read score.total and score.largest as the numbers the schema says they are.
    expect(run.outputs?.report).toEqual({ line: 'orders.csv: 3 amounts, total 50', largest: 30 })
    // What score.py printed in the pod, through the task log.
    expect(podLines(run, 'score')).toContain('score attempt 1: 3 amounts from orders.csv')
  }, 180_000)

  it('a NaN the script computes is refused in the pod by the podline package, with its path', async () => {
    const run = await runOnCluster(clusterOf(probe), example(), {
      ...place,
      params: { amounts: ['1', 'nan'] },
    })
    const refused =
      'podline.ResultError: the result of pod task "score": $.total is NaN, which JSON cannot carry'
    expect(run.error?.message).toContain(refused)
    // No file was written, so the worker never had a NaN to refuse as invalid JSON.
    expect(run.error?.message).not.toMatch(/is not valid JSON/)
    // One attempt: the task failed, and no retry was asked for.
    const score = run.attempts.filter((a) => a.task === 'score')
    expect(score.filter((a) => a.type === 'finished').map((a) => a.state)).toEqual(['failed'])
    expect(run.outputs).toBeUndefined()
  }, 180_000)
})
