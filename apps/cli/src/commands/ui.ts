import type { Command } from 'commander'
import { InvalidArgumentError } from 'commander'
import { withOperatorStore } from '../open-store.js'
import { storeSettings } from '../settings.js'
import { UsageError } from '../usage-error.js'

interface UiFlags {
  port: number
  host: string
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('serve the web UI and its JSON API (/api) for the store, until interrupted')
    .option('--port <port>', 'the port to listen on (0: any free one)', parsePort, 7070)
    .option(
      '--host <address>',
      'the address to listen on; any but loopback needs PODLINE_UI_TOKEN',
      '127.0.0.1',
    )
    .addHelpText(
      'after',
      '\nPODLINE_UI_TOKEN: the token every API call must present (Authorization: Bearer, or the login form).',
    )
    .action(async (flags: UiFlags) => {
      const [{ startUiServer, UiConfigError }, { uiSettings }] = await Promise.all([
        import('@podline/ui'),
        import('@podline/runner/config'),
      ])
      const { token, kube: kubeOptions } = uiSettings()
      // Made when a page first asks for a pod: a UI without a cluster works, and says so there.
      let kube: Promise<import('@podline/runner/pods').KubeClient> | undefined
      const cluster = () => {
        kube ??= import('@podline/runner/pods').then(({ createKubeClient }) => createKubeClient(kubeOptions))
        kube.catch(() => {
          kube = undefined
        })
        return kube
      }
      const settings = await storeSettings()
      await withOperatorStore(settings, async ({ database }) => {
        const { openXComStorage } = await import('@podline/runner')
        const xcoms = await openXComStorage(settings.xcoms, database)
        const server = await startUiServer({
          database,
          ...(xcoms ? { xcomStore: xcoms.store } : {}),
          kube: cluster,
          port: flags.port,
          host: flags.host,
          ...(token ? { token } : {}),
        }).catch((error: unknown) => {
          if (error instanceof UiConfigError) throw new UsageError(error.message)
          throw error
        })
        process.stdout.write(`podline ui: ${server.url}\n`)
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve)
          process.once('SIGTERM', resolve)
        })
        await server.close()
        await xcoms?.store.close()
      })
    })
}

function parsePort(value: string): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || n > 65535) throw new InvalidArgumentError('expected a port, 0 to 65535.')
  return n
}
