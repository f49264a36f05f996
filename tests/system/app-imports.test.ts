import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** What each folder under apps/ is published as. */
const apps = readdirSync(join(ROOT, 'apps')).map((dir) => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'apps', dir, 'package.json'), 'utf8')) as {
    name: string
    dependencies?: Record<string, string>
  }
  return { dir, name: manifest.name, dependencies: Object.keys(manifest.dependencies ?? {}) }
})

// The UI's server is still served from apps/ui by the CLI and the worker app.
const NOT_YET_A_PACKAGE = new Set(['@podline/ui'])

it('no app imports another app: what they share lives in packages/', () => {
  const programs = apps.filter((a) => !NOT_YET_A_PACKAGE.has(a.name))
  expect(programs.map((a) => a.name)).toEqual(expect.arrayContaining(['podline', '@podline/worker']))
  const found: string[] = []
  for (const app of apps) {
    const others = programs.filter((o) => o.name !== app.name)
    for (const o of others)
      if (app.dependencies.includes(o.name)) found.push(`apps/${app.dir}/package.json depends on ${o.name}`)
    const src = join(ROOT, 'apps', app.dir, 'src')
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
      if (!/\.tsx?$/.test(file)) continue
      const text = readFileSync(join(src, file), 'utf8')
      for (const o of others)
        if (text.includes(`'${o.name}'`) || text.includes(`'${o.name}/`))
          found.push(`apps/${app.dir}/src/${file} imports ${o.name}`)
    }
  }
  expect(found).toEqual([])
})
