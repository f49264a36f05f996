import { useCallback, useEffect, useRef, useState } from 'react'

const RELOAD_GAP_MS = 250

/** The time now, again every `everyMs` while `ticking`: durations of what is still running grow. */
export function useNow(ticking: boolean, everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!ticking) return
    const timer = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(timer)
  }, [ticking, everyMs])
  return now
}

/**
 * Loads what a page shows and reloads it on demand (a data-fetching library such as TanStack Query
 * would bring a cache the pages do not share, and the live stream decides when to reload anyway); reloads asked for while one is in flight run
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
      for (let first = true; first || pending.current; first = false) {
        // A burst of transitions reloads at most every RELOAD_GAP_MS.
        if (!first) await new Promise((resolve) => setTimeout(resolve, RELOAD_GAP_MS))
        pending.current = false
        try {
          setData(await loadRef.current())
          setError(undefined)
        } catch (e) {
          setError(e instanceof Error ? e.message : String(e))
        }
      }
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
