import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { describe, expect, it } from 'vitest'
import { clientFor, isTerminal, podLog, waitForPod } from './__tests__/double-client.js'
import { runOncePod, simplePod, xcomMount, xcomVolume } from './__tests__/pod-bodies.js'
import { startKubeDouble } from './kube-double.js'

const handleKinds = (): string[] =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'ProcessWrap' || kind === 'TCPServerWrap')

async function processesWith(marker: string): Promise<number> {
  let found = 0
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8')
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8')
      if (cmdline.includes(marker) && stat[stat.lastIndexOf(')') + 2] !== 'Z') found++
    } catch {
      // exited meanwhile
    }
  }
  return found
}

describe('close', () => {
  it('kills every container process, removes its folders and leaves no server or child handle', async () => {
    const before = handleKinds()
    const double = await startKubeDouble()
    const { api } = clientFor(double)
    const marker = `kube-double-close-${process.pid}`
    await api.createNamespacedPod({
      namespace: 'default',
      body: simplePod('lingering', `sleep 30 & wait; echo ${marker}`),
    })
    await waitForPod(api, 'lingering', (p) => p.status?.phase === 'Running')
    expect(await processesWith(marker)).toBe(1)
    const root = dirname(double.kubeconfigPath)
    await double.close()
    expect(await processesWith(marker)).toBe(0)
    expect(existsSync(root)).toBe(false)
    expect(handleKinds()).toEqual(before)
  })

  it('rewrites PODLINE_XCOM_PATH to the emptyDir folder on the host when bind mounts are off', async () => {
    const double = await startKubeDouble({ bindMounts: false })
    try {
      const { api } = clientFor(double)
      await api.createNamespacedPod({
        namespace: 'default',
        body: runOncePod('rewritten', {
          volumes: [xcomVolume],
          containers: [
            {
              name: 'base',
              image: 'busybox',
              command: ['sh', '-c', 'echo "$PODLINE_XCOM_PATH"; echo 5 > "$PODLINE_XCOM_PATH"'],
              ...xcomMount,
            },
            {
              name: 'reader',
              image: 'busybox',
              command: ['sh', '-c', 'sleep 0.2; cat "$PODLINE_XCOM_PATH"'],
              ...xcomMount,
            },
          ],
        }),
      })
      const pod = await waitForPod(api, 'rewritten', isTerminal)
      expect(pod.status?.phase).toBe('Succeeded')
      const path = await podLog(api, 'rewritten', 'base')
      expect(path.trim()).not.toBe('/airflow/xcom/return.json')
      expect(path.trim().endsWith('/xcom/return.json')).toBe(true)
      expect(await podLog(api, 'rewritten', 'reader')).toBe('5\n')
    } finally {
      await double.close()
    }
  })
})
