import type { ContainerJson, PodJson } from '../wire-types.js'
import { ApiError, statuses } from './api-error.js'

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

interface Cause {
  field: string
  reason: string
  message: string
}

const required = (field: string): Cause => ({
  field,
  reason: 'FieldValueRequired',
  message: 'Required value',
})
const invalid = (field: string, value: string, detail: string): Cause => ({
  field,
  reason: 'FieldValueInvalid',
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
})

/** Checks what the API server's pod validation checks for the fields the double uses; throws its 422. */
export function validatePod(pod: PodJson): void {
  const causes: Cause[] = []
  const name = pod.metadata.name ?? ''
  if (!name) causes.push(required('metadata.name'))
  else if (name.length > 253)
    causes.push(invalid('metadata.name', name, 'must be no more than 253 characters'))
  else if (!DNS1123_SUBDOMAIN.test(name)) causes.push(invalid('metadata.name', name, SUBDOMAIN_MESSAGE))

  const volumeNames = new Set((pod.spec?.volumes ?? []).map((v) => v.name))
  const containers = pod.spec?.containers ?? []
  if (containers.length === 0) causes.push(required('spec.containers'))
  const seen = new Set<string>()
  const check = (list: ContainerJson[], path: string): void => {
    list.forEach((container, i) => {
      const field = `${path}[${i}]`
      if (!container.name) causes.push(required(`${field}.name`))
      else if (!DNS1123_LABEL.test(container.name) || container.name.length > 63) {
        causes.push(invalid(`${field}.name`, container.name, LABEL_MESSAGE))
      } else if (seen.has(container.name)) {
        causes.push({
          field: `${field}.name`,
          reason: 'FieldValueDuplicate',
          message: `Duplicate value: ${JSON.stringify(container.name)}`,
        })
      }
      seen.add(container.name)
      if (!container.image) causes.push(required(`${field}.image`))
      ;(container.volumeMounts ?? []).forEach((mount, j) => {
        if (!volumeNames.has(mount.name)) {
          causes.push({
            field: `${field}.volumeMounts[${j}].name`,
            reason: 'FieldValueNotFound',
            message: `Not found: ${JSON.stringify(mount.name)}`,
          })
        }
      })
    })
  }
  check(containers, 'spec.containers')
  check(pod.spec?.initContainers ?? [], 'spec.initContainers')
  if (causes.length > 0) throw new ApiError(statuses.invalid('Pod', name, causes))
}
