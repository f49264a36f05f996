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

it('no app imports another app: what they share lives in packages/', () => {
  expect(apps.map((a) => a.name).sort()).toEqual(['@podline/worker', 'podline'])
  const found: string[] = []
  for (const app of apps) {
    const others = apps.filter((o) => o.name !== app.name)
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

it('no package depends on an app: libraries sit below the programs that compose them', () => {
  const appNames = apps.map((a) => a.name)
  const found: string[] = []
  for (const dir of readdirSync(join(ROOT, 'packages'))) {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>
      devDependencies?: Record<string, string>
    }
    const deps = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    for (const name of appNames) if (deps.includes(name)) found.push(`packages/${dir} depends on ${name}`)
  }
  expect(found).toEqual([])
})
