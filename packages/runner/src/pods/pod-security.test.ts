import type { V1SecurityContext } from '@kubernetes/client-node'
import { type KubeDouble, startKubeDouble } from '@podline/kube-double'
import { type PodSpec, type PodTaskDefinition, pipeline } from '@podline/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TaskFailure } from '../engine/task-failure.js'
import { executionFixture } from './__tests__/task-execution-fixture.js'
import { createPodExecutor } from './pod-executor.js'
import { DEFAULT_SIDECAR_SECURITY_CONTEXT } from './xcom-sidecar.js'

let double: KubeDouble

beforeAll(async () => {
  double = await startKubeDouble({
    namespaceLabels: { secure: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
  })
})
afterAll(async () => {
  await double?.close()
})

const pods = () => createPodExecutor({ runtime: 'kubernetes', kube: { kubeconfig: double.kubeconfigPath } })
const podTask = (spec: PodSpec): PodTaskDefinition =>
  pipeline('pod-security').pod('work', {}, spec).tasks[0] as PodTaskDefinition
const writes = (value: string): PodSpec => ({
  image: 'alpine:3.20',
  command: ['sh', '-c', `echo '${value}' > /airflow/xcom/return.json`],
})
const restricted: V1SecurityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
}

describe('the XCom sidecar under Pod Security and service meshes', () => {
  it('runs in a namespace that enforces "restricted" once base complies: the sidecar passes by default', async () => {
    const f = executionFixture()
    const value = await pods().execute(
      f.exec,
      podTask({ ...writes('{"secure": true}'), namespace: 'secure', containerSecurityContext: restricted }),
    )
    expect(value).toEqual({ secure: true })
    const [pod] = double.pods('secure')
    const sidecar = pod?.spec.initContainers?.find((c) => c.name === 'podline-xcom')
    expect(sidecar?.securityContext).toEqual(DEFAULT_SIDECAR_SECURITY_CONTEXT)
  })

  it('names base alone, and the fix, when base does not comply', async () => {
    const f = executionFixture()
    const error = await pods()
      .execute(f.exec, podTask({ ...writes('1'), namespace: 'secure' }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailure)
    const message = (error as TaskFailure).message
    expect(message).toMatch(
      /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "base" must set/,
    )
    expect(message).not.toMatch(/podline-xcom/)
    expect(message).toMatch(/containerSecurityContext for base/)
    expect((error as TaskFailure).failureClass).toBe('fatal')
  })

  it('completes while an injected mesh proxy never exits: the result is read and the sidecar stopped through exec', async () => {
    const f = executionFixture()
    const value = await pods().execute(
      f.exec,
      podTask({
        ...writes('{"meshed": 1}'),
        terminationGracePeriodSeconds: 1,
        // What a mesh's admission webhook injects: a proxy that ignores SIGTERM and runs forever.
        podTemplate: {
          spec: {
            containers: [
              {
                name: 'istio-proxy',
                image: 'alpine:3.20',
                command: ['sh', '-c', "trap '' TERM; while true; do sleep 0.2; done"],
              },
            ],
          },
        },
      }),
    )
    expect(value).toEqual({ meshed: 1 })
    expect(f.lines.some((l) => l.includes('istio-proxy still runs after base ended'))).toBe(true)
    expect(double.requests.count({ verb: 'create', resource: 'pods/exec' })).toBe(2)
  })
})
