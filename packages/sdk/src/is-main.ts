const EXTENSIONS = ['', '.ts', '.mts', '.js', '.mjs', '.cts', '.cjs']

// Node's fs and url are taken when isMain is called, not imported at load, so the SDK also loads in
// a browser (where there is no program entry and isMain is false). getBuiltinModule is Node >= 20.16;
// on older versions file URLs are decoded by hand and symlinks are not resolved.
type PathOf = (path: string) => string
function nodePaths(): { real: PathOf; fromUrl: PathOf } {
  const builtin = globalThis.process?.getBuiltinModule
  const fs = builtin?.('node:fs') as { realpathSync?: PathOf } | undefined
  const url = builtin?.('node:url') as { fileURLToPath?: PathOf } | undefined
  return {
    real: (path) => {
      try {
        return fs?.realpathSync?.(path) ?? path
      } catch {
        return path
      }
    },
    fromUrl: (href) => url?.fileURLToPath?.(href) ?? decodeURIComponent(new URL(href).pathname),
  }
}

/**
 * `true` when the module that passes its `import.meta` is the program's entry point, so a pipeline
 * file can run itself under `tsx pipeline.ts` and stay inert when `podline worker` imports it.
 */
export function isMain(meta: { url: string; main?: boolean }): boolean {
  if (typeof meta.main === 'boolean') return meta.main
  const entry = globalThis.process?.argv?.[1]
  if (!entry || !meta.url.startsWith('file:')) return false
  const { real, fromUrl } = nodePaths()
  const self = real(fromUrl(meta.url))
  return EXTENSIONS.some((ext) => real(entry + ext) === self)
}
