import { type PodSpec, pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { clusterOf, probeCluster, title, whereItRuns } from './support/cluster.js'
import { podlinePods, waitFor } from './support/namespace.js'
import { runOnCluster } from './support/run.js'
import { useScenarioNamespace } from './support/scenario-namespace.js'

// Failure classes as the kubelet and the control plane report them, on a real cluster: a pod past
// its activeDeadlineSeconds, and a pod evicted through the Eviction API. (The non-zero exit and
// OOMKilled are in pods.test.ts.)

const probe = await probeCluster({ database: true })
const SHELL = probe.ok ? probe.cluster.shellImage : ''
const SMALL: PodSpec['resources'] = { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '64Mi' } }

describe.skipIf(!probe.ok)(title(`pod failure classes ${whereItRuns(probe)}`, probe), () => {
  const place = useScenarioNamespace(probe, 'podline-e2e-failures')

  it('fails a pod past its activeDeadlineSeconds with the kubelet’s reason, as the task’s failure', async () => {
    const p = pipeline('e2e-deadline').pod(
      'overrun',
      {},
      {
        image: SHELL,
        // Runs far longer than the deadline: only the kubelet's deadline can end it in time.
        command: ['sh', '-c', 'echo started; exec sleep 600'],
        activeDeadlineSeconds: 5,
        resources: SMALL,
      },
    )
    const run = await runOnCluster(clusterOf(probe), p, place)
    expect(run.error?.message).toMatch(
      /pod \S+ ran past its activeDeadlineSeconds: Pod was active on the node longer than the specified deadline/,
    )
    // A task failure: one attempt, no retry asked for, and the run failed on it.
    expect(run.attempts.filter((a) => a.type === 'finished').map((a) => a.state)).toEqual(['failed'])
  }, 180_000)

  it('retries a pod evicted through the Eviction API as an infrastructure failure', async () => {
    const { core } = clusterOf(probe)
    const p = pipeline('e2e-evicted').pod(
      'evicted',
      { retries: 1, retryDelay: '1s', output: z.object({ attempt: z.number() }) },
      {
        image: SHELL,
        // Attempt 1 waits to be evicted; attempt 2 succeeds with its number.
        command: [
          'sh',
          '-c',
          'if [ "$PODLINE_ATTEMPT" = 1 ]; then exec sleep 600; fi; printf \'{"attempt":%s}\' "$PODLINE_ATTEMPT" > "$PODLINE_XCOM_PATH"',
        ],
        terminationGracePeriodSeconds: 5,
        resources: SMALL,
      },
    )
    const running = runOnCluster(clusterOf(probe), p, place)
    const first = await waitFor(
      'the first attempt’s pod to run',
      async () =>
        (await podlinePods(core, place.namespace)).find(
          (pod) =>
            pod.metadata?.labels?.['podline.dev/pipeline'] === 'e2e-evicted' &&
            pod.metadata.labels['podline.dev/attempt'] === '1' &&
            pod.status?.containerStatuses?.some((s) => s.name === 'base' && s.state?.running),
        ),
      120_000,
    )
    const name = first.metadata?.name ?? ''
    await core.createNamespacedPodEviction({
      name,
      namespace: place.namespace,
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: place.namespace } },
    })

    const run = await running
    expect(run.error).toBeUndefined()
    expect(run.outputs?.evicted).toEqual({ attempt: 2 })
    const finished = run.attempts.filter((a) => a.type === 'finished')
    expect(finished.map((a) => [a.attempt, a.state])).toEqual([
      [1, 'up_for_retry'],
      [2, 'success'],
    ])
    // The infrastructure failure's message, with the API server's own disruption reason.
    expect(finished[0]?.type === 'finished' && finished[0].error).toMatch(
      new RegExp(
        `pod ${place.namespace}/${name} was deleted while the task ran \\(EvictionByEvictionAPI: Eviction API: evicting\\); the attempt will be retried`,
      ),
    )
  }, 180_000)
})
