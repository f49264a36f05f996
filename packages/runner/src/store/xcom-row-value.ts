// What an XCom row's value may stand for besides itself: a value offloaded to the XCom store (a
// reference), or a mapped task's items (a manifest). The queue, the read model and the store all read
// rows, so the shapes live with the rows.

/**
 * The one key of an offloaded XCom's row value: `{ "$podline": { store, key, size, sha256 } }`,
 * under a kilobyte whatever the value's size. A task output of that shape is refused (the key is
 * reserved), so a reference is never mistaken for a value or the other way round.
 */
export const REFERENCE_KEY = '$podline'

export type XComReference = {
  /** The store's location (no credentials), checked against the reader's. */
  readonly store: string
  readonly key: string
  readonly size: number
  readonly sha256: string
}

/** A row value that stands for an offloaded one. */
export type StoredReference = { readonly [REFERENCE_KEY]: XComReference }

export function isReference(value: unknown): value is StoredReference {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const ref = (value as Record<string, unknown>)[REFERENCE_KEY]
  return (
    typeof ref === 'object' &&
    ref !== null &&
    typeof (ref as XComReference).key === 'string' &&
    typeof (ref as XComReference).sha256 === 'string'
  )
}

/**
 * What a mapped task's own return_value row holds: `{ "$podline": { "items": N } }`, standing for the
 * array of its N items' values, each in its item's row. The array is never built as one jsonb: past
 * PostgreSQL's 256 MB a value cannot be (SQLSTATE 54000), and each item obeys the XCom limit alone.
 * Readers get the array through `expandItemManifests` (queue/mapped-tasks.ts).
 */
export type ItemsManifest = { readonly [REFERENCE_KEY]: { readonly items: number } }

export function isItemsManifest(value: unknown): value is ItemsManifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const ref = (value as Record<string, unknown>)[REFERENCE_KEY]
  return typeof ref === 'object' && ref !== null && typeof (ref as { items?: unknown }).items === 'number'
}

/** Whether an output uses the reserved key at its top level (refused, see REFERENCE_KEY). */
export function usesReservedKey(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && REFERENCE_KEY in value
}
