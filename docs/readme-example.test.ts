import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

/*
 * The README's pipeline, saved as pipeline.ts, and the README's own command line, run as printed in
 * a shell with no kubeconfig anywhere (an empty HOME, no KUBECONFIG): what a newcomer without a
 * cluster does first. Needs the build (`npx podline` runs the built CLI).
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const pipelineCode = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? ''
const command = /^npx podline run pipeline\.ts .*--runtime process$/m.exec(readme)?.[0] ?? ''
const check = /`(npx podline check pipeline\.ts)`/.exec(readme)?.[1] ?? ''
const tsconfig = /`(\{ "extends": "@podline\/sdk\/tsconfig\.json"[^`]*\})`/.exec(readme)?.[1] ?? ''
const plan = /`(plan pipeline\.ts)`/.exec(readme)?.[1] ?? ''
// Inside the repository, so `npx podline` and the file's @podline/* imports resolve as in a project.
const dir = join(root, 'node_modules', '.cache', 'podline-readme-example')
let home = ''

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }')
  writeFileSync(join(dir, 'pipeline.ts'), pipelineCode)
  home = mkdtempSync(join(tmpdir(), 'podline-readme-home-'))
})
afterAll(() => rmSync(home, { recursive: true, force: true }))

function shell(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    PODLINE_DATA_DIR: join(home, 'store'),
    npm_config_update_notifier: 'false',
  }
  delete env.KUBECONFIG
  delete env.DATABASE_URL
  delete env.PODLINE_RUNTIME
  return new Promise((resolve) => {
    execFile('sh', ['-c', line], { cwd: dir, env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    )
  })
}

describe("the README's pipeline", () => {
  it('has a pipeline and a command to run it', () => {
    expect(pipelineCode).toContain(".pod('transform'")
    expect(command).not.toBe('')
  })

  it('runs as printed with --runtime process, pod task included, without a cluster', async () => {
    const r = await shell(command)
    expect(r.stderr).not.toMatch(/Error/)
    expect(r.code).toBe(0)
    expect(`${r.stdout}${r.stderr}`).toMatch(/transform/)
  })

  it('without a kubeconfig, the Kubernetes runtime says so at once and points at --runtime process', async () => {
    const r = await shell(command.replace(' --runtime process', ''))
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/no kubeconfig found: KUBECONFIG is not set/)
    expect(r.stderr).toMatch(/--runtime process/)
    expect(r.stderr).not.toMatch(/protocol|ECONNREFUSED|localhost:8080/i)
    // The whole message, with its fix, once (the progress line shows its beginning); no stack header repeating it.
    expect(r.stderr.split('Point KUBECONFIG at your cluster').length - 1, r.stderr).toBe(1)
    expect(r.stderr).not.toMatch(/TaskRunError/)
  })

  // The compiler runs four times (check, check, tsc, check), each a few seconds of CPU.
  it('type-checks as printed, with and without the tsconfig the README gives; a type error is exit 1 in tsc words', async () => {
    expect(check).not.toBe('')
    const bare = await shell(check)
    expect(bare.code, bare.stdout + bare.stderr).toBe(0)
    expect(bare.stderr).toMatch(
      /podline check: pipeline\.ts type-checks \(TypeScript [\d.]+, @podline\/sdk\/tsconfig\.json\)/,
    )
    expect(JSON.parse(tsconfig)).toMatchObject({ extends: '@podline/sdk/tsconfig.json' })
    writeFileSync(join(dir, 'tsconfig.json'), tsconfig)
    try {
      const own = await shell(`${check} && npx tsc -p .`)
      expect(own.code, own.stdout + own.stderr).toBe(0)
      expect(own.stderr).toMatch(/type-checks \(TypeScript [\d.]+, tsconfig\.json\)/)
      writeFileSync(join(dir, 'wrong.ts'), pipelineCode.replace('transform.count * 2', 'transform.rows * 2'))
      const wrong = await shell('npx podline check wrong.ts')
      expect(wrong.code).toBe(1)
      expect(wrong.stdout).toMatch(
        /^wrong\.ts\(\d+,\d+\): error TS2339: Property 'rows' does not exist on type/m,
      )
      expect(wrong.stderr).toMatch(/podline check: 1 type error in wrong\.ts/)
      const run = await shell(`${command.replace('pipeline.ts', 'wrong.ts')} --check`)
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(/error TS2339/)
      expect(run.stderr).toMatch(/1 type error in wrong\.ts .*: nothing was run/)
      expect(run.stdout).toBe('')
    } finally {
      rmSync(join(dir, 'tsconfig.json'), { force: true })
      rmSync(join(dir, 'wrong.ts'), { force: true })
    }
  }, 240_000)

  it('plans as printed, without --params: the params it requires are placeholders, and it says how to give them', async () => {
    expect(plan).not.toBe('')
    const r = await shell(`npx podline ${plan}`)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/- transform\n\s+- "\{\{ extract\.uri \}\}"/)
    expect(r.stderr).toMatch(/no --params, and the pipeline needs some \(.*date.*\).*pass --params/)
    expect(r.stderr).not.toMatch(/no run was created/)
  })
})
