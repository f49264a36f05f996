import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { V1Pod } from '@kubernetes/client-node'
import type { PodSpec } from '@podline/sdk'
import { Pod } from 'kubernetes-models/v1'
import { describe, expect, it } from 'vitest'
import { buildPod } from './pod-builder.js'
import { isValidLabelValue, labelValue, podLabels, podName } from './pod-identity.js'
import { loadPodTemplate } from './pod-template.js'
import { SIDECAR_SCRIPT } from './sidecar-script.js'
import { kubernetesLiteral, resolveSidecar } from './xcom-sidecar.js'

const identity = {
  store: 'store-1',
  pipeline: 'nightly-etl',
  runId: 'run-0001',
  task: 'transform',
  attempt: 1,
}

function build(
  spec: PodSpec,
  extra: { template?: V1Pod; mode?: 'native' | 'exec'; xcomPath?: string } = {},
): V1Pod {
  const run = extra.xcomPath ? { xcomPath: extra.xcomPath } : {}
  return buildPod({
    identity,
    spec,
    run,
    namespace: 'default',
    template: extra.template,
    sidecar: resolveSidecar(run, { mode: extra.mode }),
  })
}

function validate(pod: V1Pod): void {
  // The real Kubernetes OpenAPI schema (kubernetes-models): field names, types and enums.
  expect(() => new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate()).not.toThrow()
}

const everyField: PodSpec = {
  image: 'ghcr.io/acme/transform:1.4',
  imagePullPolicy: 'IfNotPresent',
  imagePullSecrets: ['regcred', { name: 'other' }],
  command: ['python', 'transform.py'],
  args: ['--input', 's3://raw/x.csv'],
  env: { ROWS: '1200' },
  envFrom: [{ configMapRef: { name: 'settings' } }],
  secrets: [
    { deployType: 'env', secret: 'db', key: 'password', deployTarget: 'DB_PASSWORD' },
    { deployType: 'env', secret: 'all-of-it' },
    { deployType: 'volume', secret: 'tls', deployTarget: '/etc/tls' },
  ],
  volumes: [{ name: 'scratch', emptyDir: {} }],
  volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
  resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } },
  workingDir: '/app',
  labels: { team: 'data' },
  annotations: { 'acme.com/owner': 'data' },
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['batch'] }] }],
      },
    },
  },
  tolerations: [{ key: 'batch', operator: 'Exists', effect: 'NoSchedule' }],
  serviceAccountName: 'etl',
  securityContext: { runAsNonRoot: true, runAsUser: 1000 },
  containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
  priorityClassName: 'batch',
  activeDeadlineSeconds: 3600,
  terminationGracePeriodSeconds: 10,
  hostNetwork: false,
  dnsPolicy: 'ClusterFirst',
  initContainers: [{ name: 'fetch', image: 'alpine:3.20', command: ['true'] }],
}

describe('buildPod', () => {
  it('maps every KubernetesPodOperator field to a pod the Kubernetes schema accepts', () => {
    const pod = build(everyField)
    validate(pod)
    const spec = pod.spec!
    const base = spec.containers.find((c) => c.name === 'base')!
    expect(base.image).toBe('ghcr.io/acme/transform:1.4')
    expect(base.env).toEqual(
      expect.arrayContaining([
        { name: 'ROWS', value: '1200' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'PODLINE_XCOM_PATH', value: '/airflow/xcom/return.json' },
      ]),
    )
    expect(base.envFrom).toEqual([
      { configMapRef: { name: 'settings' } },
      { secretRef: { name: 'all-of-it' } },
    ])
    expect(base.volumeMounts).toEqual(
      expect.arrayContaining([
        { name: 'scratch', mountPath: '/scratch' },
        { name: 'xcom', mountPath: '/airflow/xcom' },
        expect.objectContaining({ mountPath: '/etc/tls', readOnly: true }),
      ]),
    )
    expect(base.securityContext).toEqual(everyField.containerSecurityContext)
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }, { name: 'other' }])
    expect(spec.volumes).toEqual(
      expect.arrayContaining([
        { name: 'xcom', emptyDir: {} },
        expect.objectContaining({ secret: { secretName: 'tls' } }),
      ]),
    )
    expect(spec.restartPolicy).toBe('Never')
    expect(spec).toMatchObject({
      serviceAccountName: 'etl',
      priorityClassName: 'batch',
      activeDeadlineSeconds: 3600,
      terminationGracePeriodSeconds: 10,
      hostNetwork: false,
      dnsPolicy: 'ClusterFirst',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      securityContext: { runAsNonRoot: true, runAsUser: 1000 },
    })
    expect(pod.metadata?.labels).toMatchObject({ team: 'data', 'podline.dev/task': 'transform' })
    expect(pod.metadata?.annotations).toMatchObject({
      'acme.com/owner': 'data',
      'podline.dev/run-id': 'run-0001',
    })
  })

  it('task pods get no ServiceAccount token unless the spec asks, and still mount the Secrets they name', () => {
    const plain = build({
      image: 'alpine:3.20',
      secrets: [{ deployType: 'volume', secret: 'tls', deployTarget: '/etc/tls' }],
    })
    validate(plain)
    expect(plain.spec?.automountServiceAccountToken).toBe(false)
    expect(plain.spec?.volumes).toEqual(
      expect.arrayContaining([expect.objectContaining({ secret: { secretName: 'tls' } })]),
    )
    // Naming a ServiceAccount asks for its identity: its own automount setting decides.
    const named = build({ image: 'alpine:3.20', serviceAccountName: 'etl' })
    expect(named.spec?.serviceAccountName).toBe('etl')
    expect(named.spec).not.toHaveProperty('automountServiceAccountToken')
    const asked = build({
      image: 'alpine:3.20',
      fullPodSpec: { spec: { automountServiceAccountToken: true, containers: [] } },
    })
    expect(asked.spec?.automountServiceAccountToken).toBe(true)
    const template: V1Pod = { spec: { automountServiceAccountToken: true, containers: [] } }
    expect(build({ image: 'alpine:3.20' }, { template }).spec?.automountServiceAccountToken).toBe(true)
  })

  it('is checked by a schema that does reject a broken pod', () => {
    const broken = build({ image: 'alpine:3.20' })
    broken.spec!.containers[0]!.ports = [{ containerPort: 'http' as unknown as number }]
    expect(() => new Pod(broken as ConstructorParameters<typeof Pod>[0]).validate()).toThrow()
  })

  it('adds a native sidecar (an init container with restartPolicy Always) after the user init containers, with resources', () => {
    const pod = build(everyField)
    const init = pod.spec!.initContainers!
    expect(init.map((c) => c.name)).toEqual(['fetch', 'podline-xcom'])
    const sidecar = init[1]!
    expect(sidecar).toMatchObject({
      restartPolicy: 'Always',
      image: 'alpine:3.20',
      command: ['sh', '-c', kubernetesLiteral(SIDECAR_SCRIPT)],
      volumeMounts: [{ name: 'xcom', mountPath: '/airflow/xcom' }],
      resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '50m', memory: '32Mi' } },
      startupProbe: { exec: { command: ['test', '-f', '/airflow/xcom/.sidecar.pid'] } },
    })
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['base'])
  })

  it('puts a plain sidecar among the containers in exec mode', () => {
    const pod = build({ image: 'alpine:3.20' }, { mode: 'exec' })
    validate(pod)
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(['base', 'podline-xcom'])
    expect(pod.spec!.containers[1]!.restartPolicy).toBeUndefined()
    expect(pod.spec!.initContainers).toBeUndefined()
  })

  it('follows a custom xcomPath in the mount, the variable and the sidecar', () => {
    const pod = build({ image: 'alpine:3.20' }, { xcomPath: '/out/result.json' })
    const sidecar = pod.spec!.initContainers![0]!
    expect(sidecar.env).toEqual([
      { name: 'PODLINE_XCOM_PATH', value: '/out/result.json' },
      { name: 'PODLINE_SIDECAR_PID_FILE', value: '/out/.sidecar.pid' },
      { name: 'PODLINE_TERMINATION_MESSAGE_PATH', value: '/dev/termination-log' },
    ])
    expect(sidecar.terminationMessagePath).toBe('/dev/termination-log')
    expect(sidecar.volumeMounts).toEqual([{ name: 'xcom', mountPath: '/out' }])
    expect(pod.spec!.containers[0]!.env).toContainEqual({
      name: 'PODLINE_XCOM_PATH',
      value: '/out/result.json',
    })
  })

  it('merges podTemplate and fullPodSpec under the task fields: task wins, containers merge by name', () => {
    const template: V1Pod = {
      metadata: { labels: { team: 'platform', tier: 'batch' }, namespace: 'from-template' },
      spec: {
        serviceAccountName: 'template-sa',
        nodeSelector: { pool: 'batch' },
        containers: [
          {
            name: 'base',
            image: 'ignored',
            env: [
              { name: 'A', value: 'template' },
              { name: 'B', value: 'template' },
            ],
          },
          { name: 'proxy', image: 'envoy:1' },
        ],
        volumes: [{ name: 'cache', emptyDir: {} }],
      },
    }
    const fullPodSpec: V1Pod = {
      spec: { containers: [{ name: 'base', workingDir: '/full' }], schedulerName: 'custom' },
    }
    const pod = build(
      { image: 'alpine:3.20', env: { B: 'task' }, labels: { team: 'data' }, fullPodSpec },
      { template },
    )
    validate(pod)
    const spec = pod.spec!
    expect(spec.containers.map((c) => c.name)).toEqual(['base', 'proxy'])
    const base = spec.containers[0]!
    expect(base.image).toBe('alpine:3.20')
    expect(base.workingDir).toBe('/full')
    expect(base.env).toEqual(
      expect.arrayContaining([
        { name: 'A', value: 'template' },
        { name: 'B', value: 'task' },
      ]),
    )
    expect(spec).toMatchObject({
      serviceAccountName: 'template-sa',
      nodeSelector: { pool: 'batch' },
      schedulerName: 'custom',
    })
    expect(spec.volumes!.map((v) => v.name)).toEqual(['cache', 'xcom'])
    expect(pod.metadata).toMatchObject({
      namespace: 'from-template',
      labels: { team: 'data', tier: 'batch' },
    })
  })

  it('never lets a template override the identity labels or restartPolicy', () => {
    const template: V1Pod = {
      metadata: { labels: { 'podline.dev/run': 'someone-else' } },
      spec: { restartPolicy: 'Always', containers: [] },
    }
    const pod = build({ image: 'alpine:3.20' }, { template })
    expect(pod.metadata!.labels!['podline.dev/run']).toBe('run-0001')
    expect(pod.spec!.restartPolicy).toBe('Never')
  })

  it('reads a podTemplate YAML file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'podline-template-'))
    const file = join(dir, 'pod.yaml')
    await writeFile(file, 'apiVersion: v1\nkind: Pod\nspec:\n  priorityClassName: low\n  containers: []\n')
    const template = await loadPodTemplate(file, 't')
    expect(build({ image: 'alpine:3.20' }, { template }).spec!.priorityClassName).toBe('low')
    await expect(loadPodTemplate(join(dir, 'missing.yaml'), 't')).rejects.toThrow(/cannot read podTemplate/)
  })
})

describe('pod names and labels', () => {
  it('are deterministic per (run, task, attempt) and differ otherwise', () => {
    expect(podName(identity)).toBe(podName({ ...identity }))
    expect(podName(identity)).not.toBe(podName({ ...identity, attempt: 2 }))
    expect(podName(identity)).not.toBe(podName({ ...identity, runId: 'run-0002' }))
    // A cloned database keeps its run ids but has a store id of its own.
    expect(podName(identity)).not.toBe(podName({ ...identity, store: 'another-store' }))
    expect(podName(identity)).toMatch(/^nightly-etl-transform-a1-[0-9a-f]{8}$/)
  })

  it('stay valid DNS-1123 names of at most 63 characters for the longest names', () => {
    const long = {
      store: identity.store,
      pipeline: 'p'.repeat(40),
      runId: 'x'.repeat(200),
      task: 't'.repeat(40),
      attempt: 12345,
    }
    const name = podName(long)
    expect(name.length).toBeLessThanOrEqual(63)
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  })

  it('turn any run id into a valid label value, keeping valid ones as they are', () => {
    expect(labelValue('run-0001')).toBe('run-0001')
    for (const id of ['2026-11-21T00:00:00+00:00', 'a/b c', 'x'.repeat(100), '-leading', '___']) {
      expect(isValidLabelValue(labelValue(id)), id).toBe(true)
    }
    expect(labelValue('a/b')).not.toBe(labelValue('a:b'))
    for (const value of Object.values(podLabels({ ...identity, runId: 'r'.repeat(90) }))) {
      expect(isValidLabelValue(value)).toBe(true)
    }
  })
})

describe('trace context', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

  it("gives base the attempt's TRACEPARENT and TRACESTATE, over the task's own", () => {
    const pod = buildPod({
      identity,
      spec: { image: 'alpine:3.20', env: { TRACEPARENT: 'stale', KEEP: 'yes' } },
      run: {},
      namespace: 'default',
      template: undefined,
      sidecar: resolveSidecar({}),
      traceEnv: { TRACEPARENT: traceparent, TRACESTATE: 'vendor=1' },
    })
    const env = pod.spec?.containers.find((c) => c.name === 'base')?.env ?? []
    expect(env.filter((e) => e.name === 'TRACEPARENT')).toEqual([{ name: 'TRACEPARENT', value: traceparent }])
    expect(env).toContainEqual({ name: 'TRACESTATE', value: 'vendor=1' })
    expect(env).toContainEqual({ name: 'KEEP', value: 'yes' })
    validate(pod)
  })

  it('leaves the env alone when the attempt is not traced', () => {
    const env = build({ image: 'alpine:3.20' }).spec?.containers[0]?.env ?? []
    expect(env.map((e) => e.name)).not.toContain('TRACEPARENT')
  })
})
