/** A request as the API server authorizes it: a verb on a resource (with subresource, e.g. `pods/log`). */
export interface RequestAttributes {
  readonly verb: 'create' | 'get' | 'list' | 'watch' | 'delete' | 'update' | 'patch'
  readonly resource: string
  readonly namespace: string
  readonly name?: string
}

/** Counts requests by verb and resource, e.g. `count({ verb: 'watch' })` or `count({ resource: 'pods/log' })`. */
export interface RequestCounts {
  /** Requests matching every given attribute; all requests when none is given. */
  count(filter?: { verb?: RequestAttributes['verb']; resource?: string }): number
  readonly total: number
  /** Counts keyed `"<verb> <resource>"`, e.g. `"create pods"`, `"get pods/log"`. */
  snapshot(): Record<string, number>
  reset(): void
}

export class RequestCounter implements RequestCounts {
  private readonly counts = new Map<string, number>()

  record(request: RequestAttributes): void {
    const key = `${request.verb} ${request.resource}`
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1)
  }

  count(filter: { verb?: RequestAttributes['verb']; resource?: string } = {}): number {
    let total = 0
    for (const [key, n] of this.counts) {
      const [verb, resource] = key.split(' ')
      if (
        (filter.verb === undefined || filter.verb === verb) &&
        (filter.resource === undefined || filter.resource === resource)
      ) {
        total += n
      }
    }
    return total
  }

  get total(): number {
    return this.count()
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }

  reset(): void {
    this.counts.clear()
  }
}
