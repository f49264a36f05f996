import type { ContainerJson, PodJson } from '../wire-types.js'
import { ApiError, statuses } from './api-error.js'
import type { RequestAttributes } from './request-counter.js'

/** Fails the next `count` requests matching `verb` and `resource` (any when omitted). */
export interface RequestFailure {
  readonly verb?: RequestAttributes['verb']
  readonly resource?: string
  /** 500 InternalError, 429 TooManyRequests (with Retry-After), 403 Forbidden, 503 ServiceUnavailable. */
  readonly status: 500 | 429 | 403 | 503
  readonly count?: number
  readonly retryAfterSeconds?: number
  readonly message?: string
}

/** A namespace ResourceQuota whose `hard` list makes every container state these requests/limits. */
export interface ResourceQuotaRule {
  readonly namespace: string
  readonly name?: string
  readonly hard?: ReadonlyArray<'limits.cpu' | 'limits.memory' | 'requests.cpu' | 'requests.memory'>
}

/** The requests the service account may not make (RBAC has no rule allowing them). */
export interface RbacDenial {
  readonly verb?: RequestAttributes['verb']
  readonly resource?: string
  readonly namespace?: string
  readonly user?: string
}

/** The admission-time faults: checked before a request reaches the resource it names. */
export class AdmissionFaults {
  private readonly failures: Array<RequestFailure & { remaining: number }> = []
  private readonly quotas: ResourceQuotaRule[] = []
  private readonly denials: RbacDenial[] = []

  failNext(failure: RequestFailure): void {
    this.failures.push({ ...failure, remaining: failure.count ?? 1 })
  }

  addResourceQuota(rule: ResourceQuotaRule): void {
    this.quotas.push(rule)
  }

  denyRbac(denial: RbacDenial): void {
    this.denials.push(denial)
  }

  clear(): void {
    this.failures.length = 0
    this.quotas.length = 0
    this.denials.length = 0
  }

  /** Throws the API error a request would get, in the API server's order: authorization, then injected failures. */
  checkRequest(request: RequestAttributes): void {
    const denial = this.denials.find(
      (d) =>
        (d.verb === undefined || d.verb === request.verb) &&
        (d.resource === undefined || d.resource === request.resource) &&
        (d.namespace === undefined || d.namespace === request.namespace),
    )
    if (denial) {
      const user = denial.user ?? 'system:serviceaccount:default:default'
      const [group, sub] = request.resource.split('/')
      const subject = request.name ? `${group} "${request.name}"` : group
      throw new ApiError(
        statuses.forbidden(
          `${subject} is forbidden: User "${user}" cannot ${request.verb} resource "${request.resource}" in API group "" in the namespace "${request.namespace}"`,
          { ...(request.name ? { name: request.name } : {}), kind: sub ? request.resource : (group ?? '') },
        ),
      )
    }
    const index = this.failures.findIndex(
      (f) =>
        (f.verb === undefined || f.verb === request.verb) &&
        (f.resource === undefined || f.resource === request.resource),
    )
    const failure = this.failures[index]
    if (!failure) return
    if (--failure.remaining <= 0) this.failures.splice(index, 1)
    switch (failure.status) {
      case 429: {
        const retryAfter = failure.retryAfterSeconds ?? 1
        throw new ApiError(statuses.tooManyRequests(retryAfter), { 'Retry-After': String(retryAfter) })
      }
      case 403:
        throw new ApiError(
          statuses.forbidden(failure.message ?? `${request.resource} is forbidden`, {
            kind: request.resource,
          }),
        )
      case 503:
        throw new ApiError(
          statuses.serviceUnavailable(
            failure.message ?? 'the server is currently unable to handle the request',
          ),
        )
      case 500:
        throw new ApiError(statuses.internal(failure.message ?? 'injected failure'))
    }
  }

  /**
   * The ResourceQuota admission check on pod create, with the quota evaluator's exact message: every
   * container, init containers included, must state each resource the quota limits.
   */
  checkPodQuota(pod: PodJson): void {
    const namespace = pod.metadata.namespace ?? 'default'
    for (const quota of this.quotas.filter((q) => q.namespace === namespace)) {
      const hard = quota.hard ?? ['limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory']
      const missing = new Map<string, string[]>()
      const containers: ContainerJson[] = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]
      for (const resource of hard) {
        const [kind, name] = resource.split('.') as ['limits' | 'requests', string]
        for (const container of containers) {
          const stated = container.resources?.[kind]?.[name]
          // A limit alone counts as the request too: the API defaults requests from limits.
          const defaulted = kind === 'requests' ? container.resources?.limits?.[name] : undefined
          if (stated === undefined && defaulted === undefined) {
            missing.set(resource, [...(missing.get(resource) ?? []), container.name])
          }
        }
      }
      if (missing.size === 0) continue
      const parts = [...missing.keys()]
        .sort()
        .map((resource) => `${resource} for: ${[...new Set(missing.get(resource))].sort().join(',')}`)
      const podName = pod.metadata.name ?? ''
      throw new ApiError(
        statuses.forbidden(
          `pods "${podName}" is forbidden: failed quota: ${quota.name ?? 'compute-resources'}: must specify ${parts.join('; ')}`,
          { name: podName, kind: 'pods' },
        ),
      )
    }
  }
}
