import { podField } from '@podline/container-process'
import type { EventJson, PodJson } from '../wire-types.js'
import { parseFieldSelector, parseLabelSelector } from './selectors.js'

/** The filter of a list or watch request: its labelSelector and fieldSelector over pods. */
export function podFilter(query: URLSearchParams): (pod: PodJson) => boolean {
  const labels = parseLabelSelector(query.get('labelSelector'))
  const fields = parseFieldSelector(query.get('fieldSelector'), [
    'metadata.name',
    'metadata.namespace',
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'status.phase',
    'status.podIP',
  ])
  return (pod) => labels((key) => pod.metadata.labels?.[key]) && fields((key) => podField(pod, key))
}

/** The filter of an events list: the event field selectors the API supports. */
export function eventFilter(query: URLSearchParams): (event: EventJson) => boolean {
  const labels = parseLabelSelector(query.get('labelSelector'))
  const supported = [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
    'metadata.name',
    'metadata.namespace',
  ]
  const fields = parseFieldSelector(query.get('fieldSelector'), supported)
  return (event) =>
    labels((key) => event.metadata.labels?.[key]) &&
    fields((key) => {
      if (key.startsWith('involvedObject.')) {
        return event.involvedObject[key.slice('involvedObject.'.length) as keyof EventJson['involvedObject']]
      }
      if (key === 'metadata.name') return event.metadata.name
      if (key === 'metadata.namespace') return event.metadata.namespace
      if (key === 'source') return event.source.component
      if (key === 'reason' || key === 'type' || key === 'reportingComponent') return event[key]
      return undefined
    })
}
