import type { PodlineTypeError } from './type-error.js'

/**
 * Task and pipeline names become part of Kubernetes object names and label values, so they follow
 * the DNS-1123 label rule, with room left for the run and attempt suffixes of a pod name.
 */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
export const MAX_NAME_LENGTH = 40

export class InvalidNameError extends Error {
  override readonly name = 'InvalidNameError'
}

export function assertValidName(kind: 'task' | 'pipeline', name: unknown): asserts name is string {
  const allowed = `a ${kind} name must be 1-${MAX_NAME_LENGTH} characters of lowercase letters, digits and '-', starting and ending with a letter or digit (it becomes part of Kubernetes pod names and labels), e.g. "load-orders"`
  if (typeof name !== 'string') throw new InvalidNameError(`${kind} name must be a string; ${allowed}`)
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new InvalidNameError(`invalid ${kind} name ${JSON.stringify(name)}: ${allowed}`)
  }
}

type BadChar = '_' | ' ' | '.' | '/' | ':' | '@' | '#' | '*' | '+' | '=' | ',' | ';' | '\\'

/** `true` when `S` has more than MAX_NAME_LENGTH characters; stops counting there, so it stays cheap. */
type LongerThanMax<S extends string, Counted extends 0[] = []> = S extends `${string}${infer Rest}`
  ? Counted['length'] extends typeof MAX_NAME_LENGTH
    ? true
    : LongerThanMax<Rest, [...Counted, 0]>
  : false

/**
 * A cheap compile-time approximation of {@link NAME_PATTERN}: catches the common mistakes
 * (capitals, underscores, dots, spaces, leading or trailing '-', too long) without parsing every
 * character against the pattern.
 */
export type CheckName<N extends string> = string extends N
  ? N
  : N extends ''
    ? PodlineTypeError<'a name must not be empty'>
    : N extends Lowercase<N>
      ? N extends `${string}${BadChar}${string}`
        ? PodlineTypeError<`'${N}' is not a valid name: use lowercase letters, digits and '-' only`>
        : N extends `-${string}` | `${string}-`
          ? PodlineTypeError<`'${N}' is not a valid name: it must start and end with a letter or digit`>
          : LongerThanMax<N> extends true
            ? PodlineTypeError<`'${N}' is not a valid name: it is longer than ${typeof MAX_NAME_LENGTH} characters (it becomes part of Kubernetes pod names)`>
            : N
      : PodlineTypeError<`'${N}' is not a valid name: use lowercase letters, digits and '-' only (no capitals)`>
