import { canBindMount } from '@podline/container-process'
import { runLocal, TaskRunError } from '@podline/runner'
import { type PodRunOptions, type PodSpec, pipeline } from '@podline/sdk'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { usePodRuntimes } from './fixtures/pod-runtimes.js'

/*
 * What a pod task writes at $PODLINE_XCOM_PATH is the task's to choose, so it is hostile input: real
 * runs on real PostgreSQL, real processes (the process runtime, and the Kubernetes double whose pods are
 * processes too), and each hostile file must fail its task alone, fatally, with a message that says
 * what was found, in bounded time and memory.
 */

const { runtimes } = usePodRuntimes('podline_hostile_result')
type Runtime = keyof typeof runtimes

function spec(_runtime: Runtime, script: string): PodSpec {
  return { image: 'alpine:3.20', command: ['sh', '-c', script] }
}

/** Runs a one-pod pipeline (plus a downstream reader) and returns the pod task's error, if any. */
async function failureOf(runtime: Runtime, script: string, run: PodRunOptions = {}): Promise<TaskRunError> {
  const p = pipeline(`hostile-result-${runtime}`).pod('write', run, spec(runtime, script))
  const error = await runLocal(p, {}, runtimes[runtime]()).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(TaskRunError)
  return error as TaskRunError
}

describe('the process runtime refuses a result that is not a regular file', () => {
  it('a return.json symlinked to /dev/zero fails at once instead of reading without end', async () => {
    const error = await failureOf('process', 'ln -s /dev/zero "$PODLINE_XCOM_PATH"')
    expect(error.message).toMatch(/is a symbolic link; Podline reads only a regular file there/)
  })

  it('a return.json that is a FIFO fails without blocking the worker on its open', async () => {
    // Five at once: more than libuv's four pool threads, so one blocking open per FIFO would hang
    // every later file operation of the worker, this test's database work included.
    const errors = await Promise.all(
      [1, 2, 3, 4, 5].map(() => failureOf('process', 'mkfifo "$PODLINE_XCOM_PATH"')),
    )
    for (const error of errors) expect(error.message).toMatch(/is a FIFO/)
  })

  it('a return.json that is a directory fails, naming what it is', async () => {
    const error = await failureOf('process', 'mkdir "$PODLINE_XCOM_PATH"')
    expect(error.message).toMatch(/is a directory/)
  })

  it('a return.json far over the size limit fails on its size without being read', async () => {
    const p = pipeline('hostile-result-big').pod(
      'write',
      {},
      spec('process', 'head -c 50000000 /dev/zero > "$PODLINE_XCOM_PATH"'),
    )
    const error = await runLocal(p, {}, { ...runtimes.process(), xcomSizeLimitBytes: 1024 }).catch(
      (e: unknown) => e,
    )
    expect((error as Error).message).toMatch(/is 47\.7 MiB \(50000000 bytes\), over the XCom size limit/)
  })
})

describe.each(['process', 'kubernetes'] as const)('results on the %s runtime', (runtime) => {
  it('a return.json that starts with a UTF-8 byte order mark is read as the JSON after it', async () => {
    const p = pipeline(`hostile-bom-${runtime}`).pod(
      'write',
      { output: z.object({ n: z.number() }) },
      spec(runtime, `printf '\\357\\273\\277{"n": 7}' > "$PODLINE_XCOM_PATH"`),
    )
    const outputs = await runLocal(p, {}, runtimes[runtime]())
    expect(outputs.write).toEqual({ n: 7 })
  })

  it('a missing return.json fails a required output schema with the schema’s message, not a TypeError downstream', async () => {
    const p = pipeline(`hostile-missing-${runtime}`)
      .pod('extract', { output: z.object({ values: z.array(z.number()) }) }, spec(runtime, 'true'))
      .task('sum', { needs: ['extract'] }, async ({ extract }) => extract.values.reduce((a, b) => a + b, 0))
    const error = await runLocal(p, {}, runtimes[runtime]()).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskRunError)
    expect((error as TaskRunError).task).toBe('extract')
    expect((error as Error).message).toMatch(/the result of pod task "extract" failed validation/)
    expect((error as Error).message).toMatch(/wrote no result file/)
    expect((error as Error).message).not.toMatch(/TypeError/)
  })

  it('an empty return.json fails a required output schema too', async () => {
    const p = pipeline(`hostile-empty-${runtime}`).pod(
      'extract',
      { output: z.object({ n: z.number() }) },
      spec(runtime, ': > "$PODLINE_XCOM_PATH"'),
    )
    const error = await runLocal(p, {}, runtimes[runtime]()).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/failed validation.*wrote an empty result file/s)
  })

  it('a return.json cut short fails, saying it looks truncated and how to write it whole', async () => {
    // infra/kind/e2e/pods.test.ts holds a real cluster to the same words.
    const error = await failureOf(runtime, `printf '{"rows": [1, 2, 3' > "$PODLINE_XCOM_PATH"`)
    expect(error.task).toBe('write')
    expect(error.message).toMatch(
      /is not valid JSON: it ends before the value does \(.*\), so the file looks truncated: written in part, or its writer died before it finished\. It reads "\{\\"rows\\": \[1, 2, 3"\. Let the writer finish before the container exits: .* rename it over \$PODLINE_XCOM_PATH$/,
    )
  })

  it('no result passes an output schema that accepts undefined', async () => {
    const p = pipeline(`hostile-optional-${runtime}`).pod(
      'extract',
      { output: z.object({ n: z.number() }).optional() },
      spec(runtime, 'true'),
    )
    expect((await runLocal(p, {}, runtimes[runtime]())).extract).toBeUndefined()
  })
})

describe('readOnly volume mounts on the process runtime', () => {
  it('a readOnly mount cannot be written by the container', async (ctx) => {
    // Without a mount namespace the process sees host folders through the environment, unprotected.
    if (!(await canBindMount())) ctx.skip()
    const p = pipeline('hostile-readonly').pod(
      'write',
      {},
      {
        image: 'alpine:3.20',
        command: ['sh', '-c', 'echo x > /data/file && echo wrote'],
        volumes: [{ name: 'data', emptyDir: {} }],
        volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
      },
    )
    const error = await runLocal(p, {}, runtimes.process()).catch((e: unknown) => e)
    expect((error as Error).message).toMatch(/exited with code [1-9]/)
    expect((error as Error).message).toMatch(/Read-only file system/)
  })
})
