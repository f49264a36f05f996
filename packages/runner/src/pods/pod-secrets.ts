import type { V1EnvFromSource, V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node'
import type { PodSecret } from '@podline/sdk'
import { labelValue } from './pod-identity.js'

export interface SecretParts {
  env: V1EnvVar[]
  envFrom: V1EnvFromSource[]
  volumes: V1Volume[]
  volumeMounts: V1VolumeMount[]
}

/** KubernetesPodOperator's `secrets`: a key as a variable, a whole Secret as variables, or as files. */
export function secretParts(secrets: readonly PodSecret[] | undefined): SecretParts {
  const parts: SecretParts = { env: [], envFrom: [], volumes: [], volumeMounts: [] }
  for (const [i, s] of (secrets ?? []).entries()) {
    if (s.deployType === 'env') {
      if (s.key === undefined) parts.envFrom.push({ secretRef: { name: s.secret } })
      else
        parts.env.push({
          name: s.deployTarget ?? s.key,
          valueFrom: { secretKeyRef: { name: s.secret, key: s.key } },
        })
      continue
    }
    // One volume per entry (not per Secret): two entries may mount different keys of one Secret.
    const name = labelValue(`secret-${i}-${s.secret}`).toLowerCase().replace(/[_.]/g, '-')
    parts.volumes.push({
      name,
      secret: {
        secretName: s.secret,
        ...(s.key === undefined ? {} : { items: [{ key: s.key, path: s.key }] }),
      },
    })
    parts.volumeMounts.push({ name, mountPath: s.deployTarget, readOnly: true })
  }
  return parts
}
