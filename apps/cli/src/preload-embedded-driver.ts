/**
 * Loads PGlite, the embedded store's engine, before tsx registers its module hooks. Once hooks
 * exist, Node.js sends every later import through tsx's loader thread, which made PGlite take
 * several times longer to import; loaded first, the runner's own dynamic import of it hits the
 * module cache. Drizzle is not loaded here: the runner carries its own bundled copy (see
 * packages/runner/build.mjs), and importing the package's would load a second, unused one, through
 * the 180 kB package.json whose exports Node.js 22 parses again for each of its hundred modules
 * (about 300 ms).
 */
export async function preloadEmbeddedDriver(): Promise<void> {
  await import('@electric-sql/pglite')
}
