let registered: Promise<void> | undefined

/**
 * Lets `import()` load pipeline files written in TypeScript. tsx's hooks are registered for the whole
 * process (not `tsImport`'s private namespace) so a pipeline file and this program share one copy of
 * @podline/sdk and @podline/runner instead of loading a second one.
 */
export function registerTypeScript(): Promise<void> {
  registered ??= import('tsx/esm/api').then(({ register }) => {
    register()
  })
  return registered
}
