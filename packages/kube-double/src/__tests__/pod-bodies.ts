import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node'

/** A run-once pod named and labelled `name` (and app=test) whose container runs `script` under sh; `extra` adds to its spec. */
export function simplePod(name: string, script: string, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name, labels: { app: 'test', name } },
    spec: {
      restartPolicy: 'Never',
      containers: [{ name: 'base', image: 'busybox:1.36', command: ['sh', '-c', script] }],
      ...extra,
    },
  }
}

/** A pod named `name` that runs once (restartPolicy Never); `spec` is the rest of it. */
export function runOncePod(name: string, spec: V1PodSpec): V1Pod {
  return { metadata: { name }, spec: { restartPolicy: 'Never', ...spec } }
}

/** The pod volume behind {@link xcomMount}. */
export const xcomVolume = { name: 'xcom', emptyDir: {} }

/** What a pod task's containers get to write the XCom: PODLINE_XCOM_PATH in an emptyDir at /airflow/xcom. */
export const xcomMount: Pick<V1Container, 'env' | 'volumeMounts'> = {
  env: [{ name: 'PODLINE_XCOM_PATH', value: '/airflow/xcom/return.json' }],
  volumeMounts: [{ name: 'xcom', mountPath: '/airflow/xcom' }],
}

/**
 * A run-once pod of one container beside a native sidecar (an init container with restartPolicy
 * Always, as the XCom sidecar is): `sidecar` and `base` add to their defaults, `shared` goes to both
 * (the env and mounts they share), `spec` to the pod.
 */
export function nativeSidecarPod(
  name: string,
  parts: {
    sidecar: Partial<V1Container>
    base: Partial<V1Container>
    shared?: Partial<V1Container>
    spec?: Partial<V1PodSpec>
  },
): V1Pod {
  return runOncePod(name, {
    ...parts.spec,
    initContainers: [
      { name: 'sidecar', image: 'alpine:3.20', restartPolicy: 'Always', ...parts.shared, ...parts.sidecar },
    ],
    containers: [{ name: 'base', image: 'busybox:1.36', ...parts.shared, ...parts.base }],
  })
}
