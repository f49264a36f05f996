import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  containerCommand,
  containerEnvironment,
  containerMounts,
  containerProcess,
  type MissingVolume,
  type PodObject,
  podField,
} from './pod-container.js'

const pod: PodObject = {
  metadata: { name: 'p1', namespace: 'etl', labels: { team: 'data' } },
  spec: {
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'host', hostPath: { path: '/srv/data' } },
      { name: 'creds', secret: { secretName: 'db' } },
    ],
  },
}

describe('how a container of a pod becomes a process', () => {
  it('builds env in order, expanding $(VAR) from earlier entries and reading the downward API', () => {
    const env = containerEnvironment(pod, {
      name: 'base',
      env: [
        { name: 'A', value: 'a' },
        { name: 'B', value: '$(A)-$(C)-$$(A)' },
        { name: 'C', value: 'c' },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.labels['team']" } } },
      ],
    })
    expect(env).toEqual({ HOSTNAME: 'p1', A: 'a', B: 'a-$(C)-$(A)', C: 'c', NS: 'etl', TEAM: 'data' })
    expect(
      containerCommand({ name: 'base', command: ['echo', '$(A)'], args: ['$$(A)', '$$$$'] }, env),
    ).toEqual(['echo', 'a', '$(A)', '$$'])
  })

  it('asks the caller for Secrets and ConfigMaps, and leaves the variable unset by default', () => {
    const container = {
      name: 'base',
      env: [
        { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode', optional: true } } },
      ],
    }
    expect(containerEnvironment(pod, container)).toEqual({ HOSTNAME: 'p1' })
    const asked: unknown[] = []
    const env = containerEnvironment(pod, container, {
      storedValue: (ref) => {
        asked.push(ref)
        return ref.kind === 'secret' ? 's3cret' : undefined
      },
    })
    expect(env).toEqual({ HOSTNAME: 'p1', PASSWORD: 's3cret' })
    expect(asked).toEqual([
      { variable: 'PASSWORD', kind: 'secret', name: 'db', key: 'password', optional: false },
      { variable: 'MODE', kind: 'configmap', name: 'cfg', key: 'mode', optional: true },
    ])
  })

  it('mounts emptyDir and hostPath volumes and reports the others', () => {
    const missing: MissingVolume[] = []
    const mounts = containerMounts(
      pod,
      {
        name: 'base',
        volumeMounts: [
          { name: 'scratch', mountPath: '/scratch', subPath: 'part' },
          { name: 'host', mountPath: '/data', readOnly: true },
          { name: 'creds', mountPath: '/creds' },
          { name: 'nowhere', mountPath: '/nowhere' },
        ],
      },
      '/tmp/volumes',
      (volume) => missing.push(volume),
    )
    expect(mounts).toEqual([
      { hostPath: join('/tmp/volumes', 'scratch', 'part'), containerPath: '/scratch', readOnly: false },
      { hostPath: '/srv/data', containerPath: '/data', readOnly: true },
    ])
    expect(missing.map(({ kind, name }) => `${kind} ${name}`)).toEqual(['secret db', 'volume nowhere'])
  })

  it('without bind mounts, maps the working directory and path variables to the host', () => {
    const container = {
      name: 'base',
      command: ['sh', '-c', 'echo $(OUT)'],
      workingDir: '/scratch/work',
      resources: { limits: { memory: '64Mi' } },
    }
    const env = { OUT: '/scratch/out.json' }
    const mounts = [{ hostPath: '/tmp/v/scratch', containerPath: '/scratch' }]
    expect(containerProcess(container, env, mounts, { bindMounts: true, pathVariables: ['OUT'] })).toEqual({
      name: 'base',
      command: ['sh', '-c', 'echo /scratch/out.json'],
      env,
      mounts,
      workingDir: '/scratch/work',
      memoryLimitBytes: 64 * 2 ** 20,
    })
    expect(containerProcess(container, env, mounts, { bindMounts: false, pathVariables: ['OUT'] })).toEqual({
      name: 'base',
      command: ['sh', '-c', 'echo /tmp/v/scratch/out.json'],
      env: { OUT: '/tmp/v/scratch/out.json' },
      mounts: [],
      workingDir: '/tmp/v/scratch/work',
      memoryLimitBytes: 64 * 2 ** 20,
    })
  })

  it('reads the field paths the API server knows, and nothing else', () => {
    const full: PodObject = {
      metadata: { name: 'p1', namespace: 'etl', uid: 'u-1', labels: { team: 'data' } },
      spec: { nodeName: 'node-a', restartPolicy: 'Never', schedulerName: 'default-scheduler' },
      status: { phase: 'Running', podIP: '10.0.0.7', hostIP: '10.0.0.1' },
    }
    const expected = {
      'metadata.name': 'p1',
      'metadata.namespace': 'etl',
      'metadata.uid': 'u-1',
      "metadata.labels['team']": 'data',
      'spec.nodeName': 'node-a',
      'spec.restartPolicy': 'Never',
      'spec.schedulerName': 'default-scheduler',
      'spec.serviceAccountName': 'default',
      'status.phase': 'Running',
      'status.podIP': '10.0.0.7',
      'status.hostIP': '10.0.0.1',
    }
    for (const [path, value] of Object.entries(expected)) expect(podField(full, path), path).toBe(value)
    for (const path of [
      'metadata.labels',
      'metadata.name.first',
      'spec.volumes',
      'status.toString',
      'constructor.name',
    ])
      expect(podField(full, path), path).toBeUndefined()
  })
})
