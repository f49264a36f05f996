const BINARY_SUFFIXES: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
}

const DECIMAL_SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
}

const QUANTITY_PATTERN = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/

/** Thrown for a string that is not a Kubernetes resource quantity. */
export class InvalidQuantityError extends Error {
  override readonly name = 'InvalidQuantityError'
}

/**
 * Parses a Kubernetes resource quantity (`512Mi`, `1G`, `250m`, `1e3`) into a plain number, with the
 * API's rules: binary suffixes are powers of 1024, decimal ones powers of 1000, `m` is a thousandth.
 * Memory is in bytes and CPU in cores. Memory quantities round up to a whole byte, as the API does.
 *
 * @example parseQuantity('512Mi') // 536870912
 */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity
  const match = QUANTITY_PATTERN.exec(quantity.trim())
  if (!match) {
    throw new InvalidQuantityError(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': ${JSON.stringify(quantity)}`,
    )
  }
  const value = Number(match[1])
  if (match[2]) return value * 10 ** Number(match[2].slice(1))
  const suffix = match[3] ?? ''
  const multiplier = BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix]
  if (multiplier === undefined)
    throw new InvalidQuantityError(`unknown quantity suffix ${JSON.stringify(suffix)}`)
  return value * multiplier
}

/** A memory quantity in whole bytes (the API rounds fractional bytes up). */
export function parseMemoryBytes(quantity: string | number): number {
  return Math.ceil(parseQuantity(quantity))
}
