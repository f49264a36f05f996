import { describe, expect, it } from 'vitest'
import { InvalidQuantityError, parseMemoryBytes, parseQuantity } from './quantity.js'

describe('parseQuantity', () => {
  it('follows the API rules for binary, decimal and exponent forms', () => {
    expect(parseQuantity('512Mi')).toBe(512 * 1024 * 1024)
    expect(parseQuantity('1Gi')).toBe(2 ** 30)
    expect(parseQuantity('1G')).toBe(1e9)
    expect(parseQuantity('128974848')).toBe(128974848)
    expect(parseQuantity('129e6')).toBe(129e6)
    expect(parseQuantity('250m')).toBe(0.25)
    expect(parseQuantity('1.5')).toBe(1.5)
    expect(parseMemoryBytes('0.5Ki')).toBe(512)
  })

  it('rejects what the API rejects', () => {
    expect(() => parseQuantity('12MB')).toThrow(InvalidQuantityError)
    expect(() => parseQuantity('Mi')).toThrow(InvalidQuantityError)
  })
})
