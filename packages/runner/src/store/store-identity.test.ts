import { describe, expect, it } from 'vitest'
import { storeForDriver } from '../testing/index.js'
import { openDatabase } from './database.js'

describe.each(['postgres', 'pglite'] as const)('store identity (%s)', (driver) => {
  it('a store has one id, made at migrate, the same after reopening and different from another store', async () => {
    const a = await storeForDriver(driver)
    const b = await storeForDriver(driver)
    try {
      const first = await openDatabase(a.options)
      await first.migrate()
      const id = await first.storeId()
      await first.close()
      const again = await openDatabase(a.options)
      await again.migrate()
      expect(await again.storeId()).toBe(id)
      await again.close()
      const other = await openDatabase(b.options)
      await other.migrate()
      expect(await other.storeId()).not.toBe(id)
      expect(id).toMatch(/^[0-9a-f-]{36}$/)
      await other.close()
    } finally {
      await a.cleanup()
      await b.cleanup()
    }
  })
})
