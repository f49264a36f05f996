import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { ROOT, run, tempDir } from './__tests__/cli.js'

// The README's `podline` guide is a shell session; it must run as printed.
it("the README's podline command guide runs as printed", async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## The `podline` command'))
  const script = /```sh\n([\s\S]*?)```/.exec(section)?.[1]
  expect(script).toBeDefined()
  const data = tempDir()
  const r = await run(
    'sh',
    ['-ec', `cd "${ROOT}" && ${script?.replaceAll('> runs.json', `> "${data}/runs.json"`)}`],
    {
      env: { PODLINE_DATA_DIR: data },
    },
  )
  expect(r.code, r.stderr).toBe(0)
  expect(r.stdout).toMatch(/"summary": "2 rows into sales_20261121/)
  expect(r.stdout).toMatch(/run [0-9a-f-]{36} of nightly-etl@\S+: success/)
  expect(JSON.parse(readFileSync(join(data, 'runs.json'), 'utf8'))).toHaveLength(1)
})
