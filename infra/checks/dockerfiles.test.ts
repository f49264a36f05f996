import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { copiesOf, isIgnored, parseDockerfile, stagesOf } from './support/dockerfile.js'
import { REPO_ROOT } from './support/repo.js'

// No Docker engine here, so the images are checked by reading: every file a build would copy from
// the context exists and is not excluded by .dockerignore, every file copied from a build stage is
// one that stage produces, and the final stage runs as a numeric non-root user.

const DOCKERFILES = ['infra/images/worker/Dockerfile', 'infra/images/sidecar/Dockerfile']
const dockerignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8')
const rootPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  workspaces: string[]
}

function parse(path: string) {
  return parseDockerfile(readFileSync(join(REPO_ROOT, path), 'utf8'))
}

function packageOf(dir: string): { scripts?: Record<string, string> } | undefined {
  const file = join(REPO_ROOT, dir, 'package.json')
  return existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as { scripts?: Record<string, string> })
    : undefined
}

/** Workspace folders of the root package.json (`packages/*` style globs or plain folders). */
function workspaces(): string[] {
  return rootPackage.workspaces.flatMap((w) => {
    if (!w.endsWith('/*')) return [w]
    const parent = w.slice(0, -2)
    return readdirSync(join(REPO_ROOT, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `${parent}/${d.name}`)
  })
}

/**
 * Why a path copied out of a build stage (under its WORKDIR /app) will exist: it is in the repo,
 * or `npm ci` makes it (node_modules), or it is the dist/ of a workspace whose build script makes it.
 */
function producedByBuild(path: string): string | undefined {
  const rel = path.replace(/^\/app\/?/, '').replace(/\/$/, '')
  if (rel === 'node_modules')
    return existsSync(join(REPO_ROOT, 'package-lock.json')) ? undefined : 'no package-lock.json'
  const dist = /^(.+?)\/dist(?:\/|$)/.exec(rel)
  if (dist?.[1]) return packageOf(dist[1])?.scripts?.build ? undefined : `${dist[1]} has no build script`
  return existsSync(join(REPO_ROOT, rel)) ? undefined : `${rel} is not in the repository`
}

describe.each(DOCKERFILES)('%s', (dockerfile) => {
  const instructions = parse(dockerfile)
  const stages = stagesOf(instructions)

  it('copies only sources that exist in the build context (the repository root)', () => {
    const problems: string[] = []
    for (const copy of copiesOf(instructions).filter((c) => !c.from)) {
      for (const source of copy.sources) {
        const rel = source.replace(/^\.\/?/, '').replace(/\/$/, '') || '.'
        if (!existsSync(join(REPO_ROOT, rel))) problems.push(`line ${copy.line}: ${source} does not exist`)
        else if (isIgnored(dockerignore, rel))
          problems.push(`line ${copy.line}: ${source} is excluded by .dockerignore`)
      }
    }
    expect(problems).toEqual([])
  })

  it('copies from build stages only what they produce', () => {
    const problems: string[] = []
    for (const copy of copiesOf(instructions).filter((c) => c.from)) {
      if (!stages.some((s) => s.name === copy.from))
        problems.push(`line ${copy.line}: no stage named ${copy.from}`)
      for (const source of copy.sources) {
        const why = producedByBuild(source)
        if (why) problems.push(`line ${copy.line}: ${source}: ${why}`)
      }
    }
    expect(problems).toEqual([])
  })

  it('runs as a numeric non-root user on a pinned base image', () => {
    const lastFrom = instructions.findLastIndex((i) => i.keyword === 'FROM')
    const user = instructions
      .slice(lastFrom)
      .findLast((i) => i.keyword === 'USER')
      ?.args.split(':')[0]
    expect(user, 'USER in the final stage').toMatch(/^\d+$/)
    expect(Number(user)).toBeGreaterThan(0)
    const args = new Map(
      instructions
        .filter((i) => i.keyword === 'ARG' && i.args.includes('='))
        .map((i) => i.args.split('=', 2) as [string, string]),
    )
    for (const { image } of stages) {
      if (stages.some((s) => s.name === image)) continue
      const resolved = image.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? image)
      expect(resolved, 'a base image with a tag other than latest').toMatch(/:(?!latest$)[\w.-]+$/)
    }
  })
})

describe('infra/images/worker/Dockerfile', () => {
  const text = readFileSync(join(REPO_ROOT, 'infra/images/worker/Dockerfile'), 'utf8')
  const instructions = parse('infra/images/worker/Dockerfile')

  it('is multi-stage and copies every workspace manifest before npm ci (else npm ci fails)', () => {
    expect(stagesOf(instructions).length).toBeGreaterThanOrEqual(2)
    const copied = new Set(copiesOf(instructions).flatMap((c) => c.sources))
    const missing = workspaces()
      .filter((w) => packageOf(w))
      .filter((w) => !copied.has(`${w}/package.json`))
    expect(missing, 'workspaces whose package.json the Dockerfile does not copy').toEqual([])
  })

  it('runs the worker and ships the CLI, both built from sources that exist', () => {
    expect(instructions.findLast((i) => i.keyword === 'CMD')?.args).toBe(
      '["node", "apps/worker/dist/main.js"]',
    )
    expect(text).toContain('/app/apps/cli/dist/main.js')
    for (const program of ['apps/worker', 'apps/cli']) {
      expect(existsSync(join(REPO_ROOT, program, 'src/main.ts')), `${program}/src/main.ts`).toBe(true)
      expect(packageOf(program)?.scripts?.build, `${program} build script`).toBeDefined()
    }
  })
})
