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

/**
 * Checks a stored log of numbered 1 KB lines ("000001 xxx…") that the kubelet rotated: the whole
 * lines increase strictly (none repeated or out of order), the missing ones form at most one run per
 * rotation (at most four here: about 12 MB against 3 MiB files), and anything else is a piece of a
 * line cut at a rotation, next to a gap.
 */
function checkRotatedLog(stored: readonly string[], count: number) {
  const problems: string[] = []
  let last = 0
  let gaps = 0
  let pieces = 0
  let whole = 0
  for (const [i, line] of stored.entries()) {
    const m = /^(\d{6}) x{1000}$/.exec(line)
    if (!m) {
      pieces++
      if (!/^\d{0,6} ?x{0,1000}$/.test(line))
        problems.push(`line ${i + 1} is neither a line nor a piece of one: ${line.slice(0, 40)}`)
      continue
    }
    const n = Number(m[1])
    if (n <= last) problems.push(`line ${n} stored after line ${last}`)
    else if (n > last + 1) gaps++
    last = n
    whole++
  }
  if (last < count) gaps++
  if (gaps > 4) problems.push(`${gaps} gaps in the stored log, more than the rotations`)
  if (pieces > 2 * gaps) problems.push(`${pieces} pieces of lines for ${gaps} gaps`)
  return { problems, gaps, pieces, whole }
}

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
    title(
      'stores the log the kubelet rotates while it is streamed: every line served, once and in order, and a warning that it rotated',
      rotating,
    ),
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
      // What the kubelet's follow stream serves across a rotation: it moves to the new file without
      // reading the rotated one to its end, and containerd 1.6 may cut the line it was writing in two
      // (kubernetes/kubernetes#81132). So the stored log holds every line the API served, once and in
      // order; the lines of the moment of a rotation may be missing (a gap per rotation at most, a cut
      // line's pieces beside it), and the task's log says that a rotation happened, always.
      const stored = checkRotatedLog(podLines(run, 'rotated'), lines)
      expect(stored.problems).toEqual([])
      const notices = run.logs.filter((l) =>
        l.message.includes('the kubelet rotated the log of container base'),
      )
      expect(notices).toHaveLength(1)
      console.log(
        `rotated log: ${stored.whole} of ${lines} lines stored whole, ${stored.gaps} gap(s), ${stored.pieces} cut piece(s)`,
      )

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
