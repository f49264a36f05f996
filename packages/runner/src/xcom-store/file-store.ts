import { createReadStream } from 'node:fs'
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { storeFailure, type XComStore, XComStoreError } from './xcom-store.js'

/**
 * A folder as an XCom store, for the embedded store and for workers that share a volume. An object
 * is written to a temporary name and renamed, so a reader never sees half of one.
 */
export function openFileStore(url: URL): XComStore {
  // resolve() drops a trailing slash (file:///srv/xcoms/), which would otherwise make every key's
  // path fail the containment check below.
  const root = resolve(fileURLToPath(url))
  const location = url.href
  const pathOf = (key: string) => {
    const path = join(root, key)
    if (!path.startsWith(root + sep)) throw new XComStoreError(`the key ${key} leaves the store ${location}`)
    return path
  }
  const failed = (what: string, error: unknown) => storeFailure(location, what, error)
  return {
    location,
    async put(key, body) {
      const path = pathOf(key)
      const partial = `${path}.${process.pid}.partial`
      try {
        await mkdir(dirname(path), { recursive: true })
        await writeFile(partial, body)
        await rename(partial, path)
      } catch (error) {
        throw failed(`writing ${key}`, error)
      }
    },
    async get(key) {
      try {
        return await readFile(pathOf(key))
      } catch (error) {
        throw failed(`reading ${key}`, error)
      }
    },
    async stream(key) {
      const path = pathOf(key)
      try {
        await stat(path)
      } catch (error) {
        throw failed(`reading ${key}`, error)
      }
      return createReadStream(path)
    },
    async transferTarget(key) {
      // A path has no expiry: it serves local processes, which the worker supervises and ends. Its
      // folder is made by the writer, so a target minted and never used leaves nothing behind.
      return { kind: 'path', path: pathOf(key) }
    },
    async delete(keys) {
      for (const key of keys) await rm(pathOf(key), { force: true })
    },
    async *list(prefix) {
      const base = pathOf(prefix)
      let entries: string[]
      try {
        entries = await readdir(base, { recursive: true })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
        throw failed(`listing ${prefix}`, error)
      }
      for (const entry of entries) {
        const path = join(base, entry)
        const info = await stat(path).catch(() => undefined)
        if (!info?.isFile()) continue
        yield { key: relative(root, path).split(sep).join('/'), modified: info.mtime }
      }
    },
    async close() {},
  }
}
