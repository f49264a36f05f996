/**
 * A readable compile error. A parameter typed `T & PodlineTypeError<'…'>` cannot be satisfied, and
 * the message appears verbatim in the compiler's output instead of a wall of unassignable types.
 */
export interface PodlineTypeError<Message extends string> {
  readonly '~podline error': Message
}
