import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runInNewContext } from 'node:vm'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { pipeline } from '../index.js'

const entry = join(dirname(fileURLToPath(import.meta.url)), '..', 'index.ts')

describe('@podline/sdk in a browser', () => {
  it('bundles for platform=browser with no node built-ins (it imported node:fs, node:url and node:crypto at load)', async () => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'podline',
      write: false,
      metafile: true,
      logLevel: 'silent',
    })
    expect(result.errors).toEqual([])
    const inputs = Object.keys(result.metafile.inputs)
    expect(
      inputs.filter((path) => path.startsWith('node:') || path.includes('@kubernetes/client-node')),
    ).toEqual([])

    // Run the bundle where a browser would: no process, no require, no Node modules.
    const code = result.outputFiles[0]?.text ?? ''
    const context: Record<string, unknown> = { TextEncoder, URL, structuredClone }
    runInNewContext(`${code}\nthis.podline = podline`, context)
    const sdk = context.podline as typeof import('../index.js')
    const inBrowser = sdk.pipeline('hello').task('greet', () => 'hello')
    expect(sdk.isMain({ url: 'https://example.test/app.js' })).toBe(false)
    // The same version hash as in Node, so a UI and the workers agree on versions.
    expect(inBrowser.plan().version).toBe(
      pipeline('hello')
        .task('greet', () => 'hello')
        .plan().version,
    )
  })
})
