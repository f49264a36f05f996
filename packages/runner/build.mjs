// Builds dist/: tsc writes the declarations, esbuild the JavaScript.
//
// Why a bundle: drizzle-orm is about a hundred modules under one 180 kB package.json, and Node.js
// (22 and 24) parses that package.json's exports again for every module it loads, which made
// importing the runner take 0.9 s. Bundled with drizzle-orm inside, it takes 0.2 s; every CLI
// command and worker start pays that. Other dependencies stay external. Code shared by the package's
// entry points goes to common chunks, so each class and state exists once.
import { execFileSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { build } from 'esbuild'

const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
const BUNDLED = new Set(['drizzle-orm'])

rmSync('dist', { recursive: true, force: true })
execFileSync('tsc', ['-p', 'tsconfig.build.json', '--emitDeclarationOnly'], { stdio: 'inherit' })

const entries = Object.values(pkg.exports).map((target) => target['@podline/source'])
await build({
  // The lease thread's program is loaded by path (package-files.ts), so it is an entry of its own.
  entryPoints: [...entries, 'src/worker/lease-thread.ts'],
  outbase: 'src',
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: true,
  plugins: [
    {
      name: 'external-packages',
      setup(build) {
        build.onResolve({ filter: /^[^./]/ }, ({ path }) => {
          const name = path.startsWith('@') ? path.split('/', 2).join('/') : path.split('/')[0]
          return BUNDLED.has(name) ? undefined : { path, external: true }
        })
      },
    },
  ],
  logLevel: 'warning',
})
