import { expect, it } from 'vitest'
import { inPodPhase, podsByPhase } from './pod-phase.js'

it('counts a pod in its phase while the phase lasts, and not after, even when it fails', async () => {
  expect(podsByPhase()).toEqual({ create: 0, scheduled: 0, running: 0, sidecar_read: 0 })
  let release: () => void = () => {}
  const running = inPodPhase('running', {}, () => new Promise<void>((r) => (release = r)))
  expect(podsByPhase().running).toBe(1)
  await expect(inPodPhase('create', {}, () => Promise.reject(new Error('quota')))).rejects.toThrow('quota')
  expect(podsByPhase().create).toBe(0)
  release()
  await running
  expect(podsByPhase()).toEqual({ create: 0, scheduled: 0, running: 0, sidecar_read: 0 })
})
