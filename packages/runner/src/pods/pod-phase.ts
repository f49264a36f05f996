import type { Attributes } from '@opentelemetry/api'
import { inSpan } from '../tracing/tracing.js'

/** The phases of a pod task's pod, as traced and as counted (`podline_pods{phase}`). */
export const POD_PHASES = {
  create: 'pod create',
  scheduled: 'pod scheduled',
  running: 'pod running',
  sidecar_read: 'pod sidecar read',
} as const
export type PodPhase = keyof typeof POD_PHASES

const current = new Map<PodPhase, number>()

/**
 * Runs one phase of a pod: a span (a child of the attempt's) and, while it lasts, a count of this
 * process's pods in that phase.
 */
export async function inPodPhase<T>(
  phase: PodPhase,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  current.set(phase, (current.get(phase) ?? 0) + 1)
  try {
    return await inSpan(POD_PHASES[phase], attributes, fn)
  } finally {
    current.set(phase, (current.get(phase) ?? 1) - 1)
  }
}

/** The pods this process supervises now, by phase (every phase present, 0 included). */
export function podsByPhase(): Record<PodPhase, number> {
  return Object.fromEntries(
    (Object.keys(POD_PHASES) as PodPhase[]).map((p) => [p, current.get(p) ?? 0]),
  ) as Record<PodPhase, number>
}
