import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'

/**
 * A temp folder (its name starting with `prefix`) made before the tests (register it at the top of
 * a file or of a describe) and removed after them; its `path` is there inside the tests.
 */
export function useTempFolder(prefix: string): { readonly path: string } {
  let path: string | undefined
  beforeAll(() => {
    path = mkdtempSync(join(tmpdir(), prefix))
  })
  afterAll(() => {
    if (path) rmSync(path, { recursive: true, force: true })
  })
  return {
    get path() {
      if (!path) throw new Error('the temp folder is not made yet: read it inside a test or a hook')
      return path
    },
  }
}
