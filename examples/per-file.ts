import { readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runLocal } from '@podline/runner'
import { isMain, pipeline } from '@podline/sdk'
import { z } from 'zod'

/**
 * One pod per input file: `list` finds the CSV files of a folder, `count` (a mapped pod task) runs
 * one pod per file, each counting its file's rows, and `report` receives the counts as an array in
 * file order. Locally the pods run through the process runtime (the same XCom contract, as local
 * processes); on a cluster each is a pod named with its index (per-file-count-i2-a1-…).
 *
 *   npx tsx examples/per-file.ts                     counts examples/data/*.csv
 *   npx tsx examples/per-file.ts '{"dir":"/data"}'   another folder
 */
const params = z.object({
  dir: z.string().default(fileURLToPath(new URL('./data/', import.meta.url))),
})

export const perFile = pipeline('per-file', { params })
  .task('list', async (_inputs, { params }) => {
    const dir = resolve(params.dir)
    const files = (await readdir(dir)).filter((f) => f.endsWith('.csv')).sort()
    return { files: files.map((f) => join(dir, f)) }
  })
  .mapPod(
    'count',
    {
      needs: ['list'],
      over: ({ list }) => list.files,
      output: z.object({ file: z.string(), rows: z.number().int() }),
      maxParallel: 2,
      retries: 1,
    },
    (file) => ({
      image: 'busybox:1.36',
      // The header is not a row; FILE travels in the environment, so no quoting of the path.
      command: [
        'sh',
        '-c',
        'awk \'END { printf "{\\"file\\": \\"%s\\", \\"rows\\": %d}", ENVIRON["FILE"], NR - 1 }\' "$FILE" > "$PODLINE_XCOM_PATH"',
      ],
      env: { FILE: file },
      resources: { limits: { memory: '64Mi' } },
    }),
  )
  .task('report', { needs: ['count'] }, ({ count }) => ({
    files: count.length,
    rows: count.reduce((sum, c) => sum + c.rows, 0),
    largest: count.reduce((a, b) => (b.rows > a.rows ? b : a)).file,
  }))

export default perFile

if (isMain(import.meta)) {
  const arg = process.argv[2]
  const out = await runLocal(perFile, arg ? JSON.parse(arg) : {}, { runtime: 'process' })
  console.log(JSON.stringify(out.report, null, 2))
}
