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
  })
})
