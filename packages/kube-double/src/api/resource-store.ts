import { randomUUID } from 'node:crypto'
import type { EventJson, PodJson, WatchEventType } from '../wire-types.js'

export interface PodWatchEvent {
  readonly type: Exclude<WatchEventType, 'BOOKMARK' | 'ERROR'>
  readonly object: PodJson
  readonly resourceVersion: number
}

type PodListener = (event: PodWatchEvent) => void

/**
 * The double's etcd: pods and events under one resourceVersion counter, and the recent pod changes a
 * watch can resume from. Older changes are compacted away, so resuming before them is a 410.
 */
export class ResourceStore {
  // A cluster's etcd revision is never 0 (bootstrap writes come first), and "0" means "any version" to a
  // watch: a list of an empty double must still hand out a version a watch resumes from.
  private revision = 1
  private readonly podsByKey = new Map<string, PodJson>()
  private readonly eventsByKey = new Map<string, EventJson>()
  private readonly history: PodWatchEvent[] = []
  private readonly listeners = new Set<PodListener>()
  /** Changes at or before this revision are gone; a watch resuming from them gets 410 Expired. */
  compactedRevision = 1

  constructor(private readonly historyLimit = 10_000) {}

  get resourceVersion(): string {
    return String(this.revision)
  }

  getPod(namespace: string, name: string): PodJson | undefined {
    return this.podsByKey.get(key(namespace, name))
  }

  listPods(namespace?: string): PodJson[] {
    return [...this.podsByKey.values()].filter(
      (p) => namespace === undefined || p.metadata.namespace === namespace,
    )
  }

  createPod(pod: PodJson): PodJson {
    pod.metadata.uid = randomUUID()
    pod.metadata.creationTimestamp = now()
    this.stamp(pod)
    this.podsByKey.set(key(pod.metadata.namespace ?? '', pod.metadata.name ?? ''), pod)
    this.publish('ADDED', pod)
    return pod
  }

  /** Applies a change to a stored pod as one write (one resourceVersion, one MODIFIED event). */
  updatePod(namespace: string, name: string, change: (pod: PodJson) => void): PodJson | undefined {
    const pod = this.podsByKey.get(key(namespace, name))
    if (!pod) return undefined
    change(pod)
    this.stamp(pod)
    this.publish('MODIFIED', pod)
    return pod
  }

  removePod(namespace: string, name: string): PodJson | undefined {
    const pod = this.podsByKey.get(key(namespace, name))
    if (!pod) return undefined
    this.podsByKey.delete(key(namespace, name))
    this.stamp(pod)
    this.publish('DELETED', pod)
    return pod
  }

  /** Records an event, folding a repeat of the same reason and message into `count`, as the recorder does. */
  recordEvent(event: Omit<EventJson, 'metadata' | 'count' | 'firstTimestamp' | 'lastTimestamp'>): EventJson {
    const existing = [...this.eventsByKey.values()].find(
      (e) =>
        e.involvedObject.uid === event.involvedObject.uid &&
        e.involvedObject.fieldPath === event.involvedObject.fieldPath &&
        e.reason === event.reason &&
        e.message === event.message,
    )
    const timestamp = now()
    if (existing) {
      existing.count++
      existing.lastTimestamp = timestamp
      existing.metadata.resourceVersion = String(++this.revision)
      return existing
    }
    const namespace = event.involvedObject.namespace
    const name = `${event.involvedObject.name}.${(Date.now() * 1000 + this.revision).toString(16)}`
    const stored: EventJson = {
      kind: 'Event',
      apiVersion: 'v1',
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: String(++this.revision),
        creationTimestamp: timestamp,
      },
      ...event,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
    }
    this.eventsByKey.set(key(namespace, name), stored)
    return stored
  }

  listEvents(namespace?: string): EventJson[] {
    return [...this.eventsByKey.values()].filter(
      (e) => namespace === undefined || e.metadata.namespace === namespace,
    )
  }

  /** Pod changes after `revision`, or undefined when some of them were compacted away. */
  changesSince(revision: number): PodWatchEvent[] | undefined {
    if (revision < this.compactedRevision) return undefined
    return this.history.filter((e) => e.resourceVersion > revision)
  }

  /** The pod's last kept change at or before `revision`, if the history still has one. */
  changeAtOrBefore(namespace: string, name: string, revision: number): PodWatchEvent | undefined {
    for (let i = this.history.length - 1; i >= 0; i--) {
      const e = this.history[i]!
      if (
        e.resourceVersion <= revision &&
        e.object.metadata.namespace === namespace &&
        e.object.metadata.name === name
      )
        return e
    }
    return undefined
  }

  /** Forgets every change so far, as etcd compaction does: resuming from an older version gets 410. */
  compact(): void {
    this.compactedRevision = this.revision
    this.history.length = 0
  }

  subscribe(listener: PodListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private stamp(pod: PodJson): void {
    pod.metadata.resourceVersion = String(++this.revision)
  }

  private publish(type: PodWatchEvent['type'], pod: PodJson): void {
    // Watchers get a snapshot: later writes must not change an event already queued on a socket.
    const event: PodWatchEvent = { type, object: structuredClone(pod), resourceVersion: this.revision }
    this.history.push(event)
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.shift()
      if (dropped) this.compactedRevision = dropped.resourceVersion
    }
    for (const listener of this.listeners) listener(event)
  }
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`
}

export function now(): string {
  // The API's timestamps have second precision (RFC 3339, no fraction).
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}
