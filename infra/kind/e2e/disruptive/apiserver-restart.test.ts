import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { type PodSpec, pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { clusterOf, clusterOnly, probeCluster, requiring, title } from '../support/cluster.js'
import { podlinePods, waitFor } from '../support/namespace.js'
import { firstDifference, podLines, runOnCluster } from '../support/run.js'
import { useScenarioNamespace } from '../support/scenario-namespace.js'

// The API server restarted while pod tasks run: every watch and log stream the worker holds drops,
// and the server stays away for half a minute (infra/cluster/test.sh has restart-apiserver.sh keep
// it down 20 s, then start it), as a slow control-plane restart does. The scenarios here disrupt the
// whole cluster, so test.sh runs them after the others, alone.

const probe = requiring(
  await probeCluster(),
  clusterOnly('the double has no API server to restart (its faults only cut watches and log streams)'),
)
const why = !probe.ok
  ? probe.reason
  : !probe.cluster.restartApiServer
    ? 'PODLINE_E2E_RESTART_APISERVER is not set (infra/cluster/test.sh sets it to infra/cluster/restart-apiserver.sh)'
    : undefined

const SMALL: PodSpec['resources'] = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } }
const TICKS = 60
const ticks = Array.from({ length: TICKS }, (_, i) => `tick-${String(i + 1).padStart(2, '0')}`)

describe.skipIf(why !== undefined)(
  title('the API server restarted under running pod tasks', why ? { ok: false, reason: why } : probe),
  () => {
    const place = useScenarioNamespace(probe, 'podline-e2e-restart')

    it('every task completes once: one pod each, no retry, and every log line stored once', async () => {
      const { core, shellImage, restartApiServer } = clusterOf(probe)
      // Three pods printing a line every half second for half a minute, then their number.
      const ticking = (n: number): PodSpec => ({
        image: shellImage,
        command: [
          'sh',
          '-c',
          `i=1; while [ $i -le ${TICKS} ]; do printf 'tick-%02d\\n' $i; i=$((i + 1)); sleep 0.5; done; sleep 1; printf '{"n":${n}}' > "$PODLINE_XCOM_PATH"`,
        ],
        resources: SMALL,
      })
      const n = z.object({ n: z.number() })
      const p = pipeline('e2e-apiserver-restart')
        .pod('pod-1', { output: n, onFinish: 'keep_pod' }, ticking(1))
        .pod('pod-2', { output: n, onFinish: 'keep_pod' }, ticking(2))
        .pod('pod-3', { output: n, onFinish: 'keep_pod' }, ticking(3))
        .task('sum', { needs: ['pod-1', 'pod-2', 'pod-3'] }, async (inputs) =>
          Object.values(inputs).reduce((total, value) => total + value.n, 0),
        )

      const running = runOnCluster(clusterOf(probe), p, place)
      await waitFor(
        'the three pods to run',
        async () => {
          const pods = await podlinePods(core, place.namespace)
          const base = pods.filter((pod) =>
            pod.status?.containerStatuses?.some((s) => s.name === 'base' && s.state?.running),
          )
          return base.length === 3 ? base : undefined
        },
        120_000,
      )
      const restart = await promisify(execFile)('sh', ['-c', restartApiServer ?? ''], {
        timeout: 180_000,
      })
      const away = restart.stdout.trim().split('\n').at(-1)

      const run = await running
      expect(run.error, `the API server was away for ${away} s`).toBeUndefined()
      expect(run.outputs?.sum).toBe(6)
      // Each task ran once: no attempt was lost and retried.
      const started = run.attempts.filter((a) => a.type === 'started').map((a) => `${a.task}#${a.attempt}`)
      expect(started.sort()).toEqual(['pod-1#1', 'pod-2#1', 'pod-3#1', 'sum#1'])
      // One pod per task: nothing was created twice.
      const pods = (await podlinePods(core, place.namespace)).map(
        (pod) => pod.metadata?.labels?.['podline.dev/task'],
      )
      expect(pods.sort()).toEqual(['pod-1', 'pod-2', 'pod-3'])
      // The log streams dropped with the server and were reopened: every line once, in order.
      for (const task of ['pod-1', 'pod-2', 'pod-3'])
        expect(firstDifference(podLines(run, task), ticks), task).toBeUndefined()
    }, 300_000)
  },
)
