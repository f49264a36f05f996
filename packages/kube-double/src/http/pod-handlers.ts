import { ApiError, statuses } from '../api/api-error.js'
import { podFilter } from '../api/pod-filter.js'
import { checkPodSecurity } from '../api/pod-security.js'
import { validatePod } from '../api/pod-validation.js'
import { qosClassOf, setCondition } from '../kubelet/pod-status.js'
import type { PodJson } from '../wire-types.js'
import { readJson, sendJson } from './http-io.js'
import { type RouteHandler, routePod } from './route-handler.js'

const GENERATED_NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789'

/** List items carry no kind/apiVersion in the API's JSON; single objects and watch events do. */
function withKind(pod: PodJson): PodJson {
  return { kind: 'Pod', apiVersion: 'v1', ...structuredClone(pod) }
}

function listItem(pod: PodJson): PodJson {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = structuredClone(pod)
  return rest
}

export const createPod: RouteHandler = async (ctx, route, response, request) => {
  const body = (await readJson(request)) as PodJson | undefined
  if (!body || typeof body !== 'object' || !body.metadata) {
    throw new ApiError(statuses.badRequest('the object provided is unrecognized (must be of type Pod)'))
  }
  body.spec ??= { containers: [] }
  if (body.metadata.namespace && body.metadata.namespace !== route.namespace) {
    throw new ApiError(
      statuses.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      ),
    )
  }
  if (!body.metadata.name && body.metadata.generateName) {
    const suffix = Array.from(
      { length: 5 },
      () => GENERATED_NAME_CHARS[Math.floor(Math.random() * GENERATED_NAME_CHARS.length)],
    ).join('')
    body.metadata.name = `${body.metadata.generateName}${suffix}`
  }
  validatePod(body)
  checkPodSecurity(body, ctx.namespaceLabels.get(route.namespace))
  const name = body.metadata.name ?? ''
  ctx.admission.checkPodQuota({ ...body, metadata: { ...body.metadata, namespace: route.namespace } })
  if (ctx.store.getPod(route.namespace, name)) throw new ApiError(statuses.alreadyExists('pods', name))

  // The API server's defaulting, for the fields clients read back.
  const pod: PodJson = {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { ...body.metadata, namespace: route.namespace },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      ...body.spec,
      containers: body.spec.containers.map((c) => ({ imagePullPolicy: defaultPullPolicy(c.image), ...c })),
      ...(body.spec.initContainers
        ? {
            initContainers: body.spec.initContainers.map((c) => ({
              imagePullPolicy: defaultPullPolicy(c.image),
              ...c,
            })),
          }
        : {}),
    },
    status: { phase: 'Pending', qosClass: qosClassOf(body) },
  }
  delete pod.metadata.resourceVersion
  ctx.store.createPod(pod)
  ctx.kubelet.admit(route.namespace, name)
  sendJson(response, 201, withKind(pod))
}

function defaultPullPolicy(image: string | undefined): string {
  const tag = /:([\w][\w.-]*)$/.exec(image?.split('/').pop() ?? '')?.[1]
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent'
}

export const getPod: RouteHandler = (ctx, route, response) => {
  sendJson(response, 200, withKind(routePod(ctx, route).pod))
}

export const listPods: RouteHandler = (ctx, route, response) => {
  const matches = podFilter(route.query)
  const items = ctx.store
    .listPods(route.allNamespaces ? undefined : route.namespace)
    .filter(matches)
    .sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
    )
    .map(listItem)
  sendJson(response, 200, {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: { resourceVersion: ctx.store.resourceVersion },
    items,
  })
}

export const deletePod: RouteHandler = async (ctx, route, response, request) => {
  const options = ((await readJson(request)) ?? {}) as { gracePeriodSeconds?: number }
  const { name, pod } = routePod(ctx, route)
  const queryGrace = route.query.get('gracePeriodSeconds')
  const grace = queryGrace !== null ? Number(queryGrace) : options.gracePeriodSeconds
  if (!pod.metadata.deletionTimestamp) ctx.kubelet.delete(route.namespace, name, grace)
  sendJson(response, 200, withKind(ctx.store.getPod(route.namespace, name) ?? pod))
}

const MERGE_PATCH_TYPES = ['application/merge-patch+json', 'application/strategic-merge-patch+json']

/**
 * A merge patch of a pod's labels and annotations (the metadata the API lets a running pod change;
 * a `null` value removes a key). Any other field is the API server's 422: pod specs are immutable
 * but for a few fields the double does not model. JSON Patch and apply patches are a 415 here.
 */
export const patchPod: RouteHandler = async (ctx, route, response, request) => {
  const name = route.name ?? ''
  const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
  if (!MERGE_PATCH_TYPES.includes(type))
    throw new ApiError(
      statuses.unsupportedMediaType(
        `the body of the request was in an unknown format - accepted media types include: ${MERGE_PATCH_TYPES.join(', ')}`,
      ),
    )
  const patch = (await readJson(request)) as { metadata?: Record<string, unknown> } | undefined
  if (!ctx.store.getPod(route.namespace, name)) throw new ApiError(statuses.notFound('pods', name))
  const { metadata = {}, ...rest } = patch ?? {}
  const { labels, annotations, ...otherMetadata } = metadata as {
    labels?: Record<string, string | null>
    annotations?: Record<string, string | null>
  }
  const others = [...Object.keys(rest), ...Object.keys(otherMetadata).map((k) => `metadata.${k}`)]
  if (others.length > 0)
    throw new ApiError(
      statuses.invalid(
        'Pod',
        name,
        others.map((field) => ({
          field,
          reason: 'FieldValueForbidden',
          message: 'Forbidden: the double patches only metadata.labels and metadata.annotations',
        })),
      ),
    )
  const merge = (into: Record<string, string> | undefined, change: Record<string, string | null>) => {
    const merged = { ...into }
    for (const [k, v] of Object.entries(change)) {
      if (v === null) delete merged[k]
      else merged[k] = v
    }
    return merged
  }
  const updated = ctx.store.updatePod(route.namespace, name, (pod) => {
    if (labels) pod.metadata.labels = merge(pod.metadata.labels, labels)
    if (annotations) pod.metadata.annotations = merge(pod.metadata.annotations, annotations)
  })
  if (!updated) throw new ApiError(statuses.notFound('pods', name))
  sendJson(response, 200, withKind(updated))
}

/**
 * pods/{name}/eviction (policy/v1 Eviction), as the API server serves it without a
 * PodDisruptionBudget in the way: the pod gets the DisruptionTarget condition (reason
 * EvictionByEvictionAPI) and is then deleted gracefully, with the Eviction's deleteOptions'
 * gracePeriodSeconds or the pod's own; the answer is a 201 Status of Success. A pod that has already
 * ended is deleted without the condition; one being deleted is left as it is.
 */
export const evictPod: RouteHandler = async (ctx, route, response, request) => {
  const name = route.name ?? ''
  const eviction = ((await readJson(request)) ?? {}) as {
    metadata?: { name?: string }
    deleteOptions?: { gracePeriodSeconds?: number }
  }
  if (eviction.metadata?.name !== undefined && eviction.metadata.name !== name)
    throw new ApiError(statuses.badRequest(`name in URL does not match name in Eviction object`))
  const { pod } = routePod(ctx, route)
  if (!pod.metadata.deletionTimestamp) {
    if (pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed')
      ctx.store.updatePod(route.namespace, name, (p) =>
        setCondition(p, 'DisruptionTarget', 'True', 'EvictionByEvictionAPI', 'Eviction API: evicting'),
      )
    ctx.kubelet.delete(route.namespace, name, eviction.deleteOptions?.gracePeriodSeconds)
  }
  sendJson(response, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 })
}
