import { type PodSpec, pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { clusterOf, clusterOnly, probeCluster, requiring, title, whereItRuns } from './support/cluster.js'
import { podlinePods } from './support/namespace.js'
import { firstDifference, podLines, runOnCluster } from './support/run.js'
import { useScenarioNamespace } from './support/scenario-namespace.js'

// base's log, streamed by the worker into the stored task log, against the kubelet's real log files:
// a large log, and one the kubelet rotates while the worker streams it. infra/cluster's kubelet
// rotates container logs at 3 MiB, checked every 3 s (kubelet-config.sh).

const probe = await probeCluster({ database: true })
const rotating = requiring(
  probe,
  clusterOnly('the double’s kubelet rotates no log by size (held-to-server.test.ts rotates one on demand)'),
)
const SHELL = probe.ok ? probe.cluster.shellImage : ''
const SMALL: PodSpec['resources'] = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } }

const numbered = (count: number, width: number, prefix = '') =>
  Array.from({ length: count }, (_, i) => `${prefix}${String(i + 1).padStart(width, '0')}`)

describe.skipIf(!probe.ok)(title(`task logs of pods ${whereItRuns(probe)}`, probe), () => {
  const place = useScenarioNamespace(probe, 'podline-e2e-logs')

  it('stores every one of 50,000 lines a pod writes, once and in order', async () => {
    const p = pipeline('e2e-log-50k').pod(
      'chatty',
      {},
      {
        image: SHELL,
        // Written in well under a second. The second after it is the container runtime's: Debian 12's
        // containerd (1.6.20) drops what it has not yet copied from a container's stdout into the
        // log file when the container exits, so without it the kubelet's own log of this container
        // often lacks its last thousands of lines, before anything can read them.
        command: [
          'sh',
          '-c',
          `awk 'BEGIN { for (i = 1; i <= 50000; i++) printf "line-%05d\\n", i }'; sleep 1`,
        ],
        resources: SMALL,
      },
    )
    const run = await runOnCluster(clusterOf(probe), p, place)
    expect(run.error).toBeUndefined()
    expect(firstDifference(podLines(run, 'chatty'), numbered(50_000, 5, 'line-'))).toBeUndefined()
  }, 240_000)

  it.skipIf(!rotating.ok)(
    title('stores every line of a log the kubelet rotates while it is streamed', rotating),
    async () => {
      const { core } = clusterOf(probe)
      // 12,000 lines of 1 KB, about 1 MB a second: the log passes 3 MiB three times over, and the
      // kubelet's 3-second check rotates it while the stream reads it. (The last second: see above.)
      const lines = 12_000
      const p = pipeline('e2e-log-rotated').pod(
        'rotated',
        { onFinish: 'keep_pod' },
        {
          image: SHELL,
          command: [
            'sh',
            '-c',
            `b=0
while [ $b -lt ${lines / 100} ]; do
  awk -v b=$b 'BEGIN { pad = sprintf("%1000s", ""); gsub(/ /, "x", pad); for (i = 1; i <= 100; i++) printf "%06d %s\\n", b * 100 + i, pad }'
  b=$((b + 1))
  sleep 0.1
done
sleep 1`,
          ],
          resources: SMALL,
        },
      )
      const run = await runOnCluster(clusterOf(probe), p, place)
      expect(run.error).toBeUndefined()
      const pad = 'x'.repeat(1000)
      expect(
        firstDifference(
          podLines(run, 'rotated'),
          numbered(lines, 6).map((n) => `${n} ${pad}`),
        ),
      ).toBeUndefined()

      // The proof that the kubelet rotated it: the API now serves only the current file, which no
      // longer begins with the first line.
      const [pod, ...more] = (await podlinePods(core, place.namespace)).filter(
        (x) => x.metadata?.labels?.['podline.dev/pipeline'] === 'e2e-log-rotated',
      )
      expect(more).toEqual([])
      const name = pod?.metadata?.name ?? ''
      const served = await core.readNamespacedPodLog({
        name,
        namespace: place.namespace,
        container: 'base',
        limitBytes: 64,
      })
      expect(served.slice(0, 6), `the first line the API serves of pod ${name}`).not.toBe('000001')
    },
    240_000,
  )
})
