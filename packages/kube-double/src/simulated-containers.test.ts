import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clientFor, isTerminal, podLog, waitForPod } from './__tests__/double-client.js'
import { nativeSidecarPod } from './__tests__/pod-bodies.js'
import { type KubeDouble, startKubeDouble } from './kube-double.js'

let double: KubeDouble
let api: ReturnType<typeof clientFor>['api']

beforeAll(async () => {
  double = await startKubeDouble({
    containers: {
      simulate: (_pod, container) =>
        container.name === 'main'
          ? { runMs: 30, output: 'hello\n', exitCode: 3 }
          : { runMs: 'until-stopped', onStop: () => 'stopped cleanly\n' },
    },
  })
  ;({ api } = clientFor(double))
})
afterAll(async () => {
  await double.close()
})

describe('simulated containers', () => {
  it('go through the real status stages without a process, and a native sidecar is stopped after main', async () => {
    const body = nativeSidecarPod('simulated', {
      sidecar: { name: 'side', startupProbe: { exec: { command: ['true'] } } },
      // A command that does not exist: a process would fail to start, a simulation does not run it.
      base: { name: 'main', image: 'alpine:3.20', command: ['/no/such/binary'] },
    })
    await api.createNamespacedPod({ namespace: 'default', body })
    const ended = await waitForPod(api, 'simulated', isTerminal)
    expect(ended.spec?.nodeName).toBe(double.node.name)
    expect(ended.status?.phase).toBe('Failed')
    const main = ended.status?.containerStatuses?.find((s) => s.name === 'main')
    expect(main?.state?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' })
    const side = ended.status?.initContainerStatuses?.find((s) => s.name === 'side')
    expect(side?.state?.terminated).toMatchObject({ exitCode: 0 })
    expect(await podLog(api, 'simulated', 'main')).toBe('hello\n')
    expect(await podLog(api, 'simulated', 'side')).toBe('stopped cleanly\n')
    const reasons = double.events('default').map((e) => e.reason)
    expect(reasons).toEqual(expect.arrayContaining(['Scheduled', 'Created', 'Started', 'Killing']))
  })
})
