import { useCallback, useEffect, useRef, useState } from 'react'

/**
 * Loads what a page shows and reloads it on demand; reloads asked for while one is in flight run
 * once after it, so a burst of live transitions costs one request, not one each.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T>()
  const [error, setError] = useState<string>()
  const inFlight = useRef(false)
  const pending = useRef(false)
  const loadRef = useRef(load)
  loadRef.current = load
  const reload = useCallback(async () => {
    if (inFlight.current) {
      pending.current = true
      return
    }
    inFlight.current = true
    try {
      do {
        pending.current = false
        try {
          setData(await loadRef.current())
          setError(undefined)
        } catch (e) {
          setError(e instanceof Error ? e.message : String(e))
        }
      } while (pending.current)
    } finally {
      inFlight.current = false
    }
  }, [])
  // The caller names what the load depends on; a change of any of them loads again.
  const key = JSON.stringify(deps)
  useEffect(() => {
    if (key !== undefined) void reload()
  }, [reload, key])
  return { data, setData, error, reload }
}
