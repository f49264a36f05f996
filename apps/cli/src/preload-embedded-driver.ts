/**
 * Loads the embedded store's driver before tsx registers its module hooks. Once hooks exist, Node 20
 * sends every later import through tsx's loader thread, which made PGlite and drizzle's PGlite
 * driver take ~130 ms to import instead of ~20 ms; loaded first, the runner's own dynamic imports
 * of them hit the module cache.
 */
export async function preloadEmbeddedDriver(): Promise<void> {
  await Promise.all([import('@electric-sql/pglite'), import('drizzle-orm/pglite')])
}
