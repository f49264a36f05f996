import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'

/** Writes a kubeconfig whose current context `double` points at the double, namespace `default`. */
export async function writeKubeconfig(dir: string, server: string): Promise<string> {
  const path = join(dir, 'kubeconfig')
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses a plain-HTTP server unless TLS verification is declared off.
    clusters: [{ name: 'double', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'double', user: { token: 'kube-double' } }],
    contexts: [{ name: 'double', context: { cluster: 'double', user: 'double', namespace: 'default' } }],
    'current-context': 'double',
    preferences: {},
  }
  await writeFile(path, stringify(config), { mode: 0o600 })
  return path
}
