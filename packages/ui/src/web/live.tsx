import type { Transition } from '@podline/runner'
import { createContext, type ReactNode, useContext, useEffect, useRef, useState } from 'react'

type Listener = (t: Transition | 'reset') => void

interface Live {
  subscribe(listener: Listener): () => void
  connected: boolean
}

const LiveContext = createContext<Live>({ subscribe: () => () => {}, connected: false })

/**
 * One EventSource for the whole app. The browser reconnects by itself and sends the last event id
 * it saw, so the server replays what happened meanwhile: no transition is missed.
 */
export function LiveProvider({ children }: { children: ReactNode }) {
  const listeners = useRef(new Set<Listener>())
  const [connected, setConnected] = useState(false)
  useEffect(() => {
    const source = new EventSource('/api/events')
    source.addEventListener('ready', () => setConnected(true))
    source.addEventListener('transition', (e) => {
      const t = JSON.parse((e as MessageEvent<string>).data) as Transition
      for (const l of listeners.current) l(t)
    })
    source.addEventListener('reset', () => {
      for (const l of listeners.current) l('reset')
    })
    source.onerror = () => setConnected(false)
    return () => source.close()
  }, [])
  const [live] = useState<Omit<Live, 'connected'>>(() => ({
    subscribe(listener) {
      listeners.current.add(listener)
      return () => listeners.current.delete(listener)
    },
  }))
  return <LiveContext.Provider value={{ ...live, connected }}>{children}</LiveContext.Provider>
}

/** Calls `onTransition` for every transition (and 'reset' when the app should reload what it shows). */
export function useTransitions(onTransition: Listener): void {
  const { subscribe } = useContext(LiveContext)
  const latest = useRef(onTransition)
  latest.current = onTransition
  useEffect(() => subscribe((t) => latest.current(t)), [subscribe])
}

export const useLiveConnected = () => useContext(LiveContext).connected
