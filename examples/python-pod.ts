import { fileURLToPath } from 'node:url'
import { runLocal } from '@podline/runner'
import { isMain, pipeline } from '@podline/sdk'
import { z } from 'zod'

/**
 * A pod task written in Python: examples/python/score.py reads its inputs into the generated model
 * ScoreInputs and writes a ScoreOutput with the podline package (sdks/python), which refuses what
 * the worker would refuse, with the value's path, before the pod exits. The models in
 * examples/python/models are generated from this file, and `report` reads the result typed by the
 * same schema.
 *
 *   bash scripts/python-env.sh && . .venv/bin/activate
 *   npx podline codegen examples/python-pod.ts --python examples/python/models
 *   npx podline run examples/python-pod.ts --runtime process
 *
 * Under the process runtime the image is ignored and `python3` is the one on PATH; on a cluster the
 * image holds the script, sdks/python and the models.
 */
const SCORE = fileURLToPath(new URL('./python/score.py', import.meta.url))

/** Where the pods run: an image with `sh` for `extract`, one with Python for `score`, and its command. */
export interface PythonPodImages {
  extract: string
  score: string
  scoreCommand: string[]
}

/**
 * The pipeline with the pods in the given images: infra/kind/e2e/python-image.test.ts runs it on a
 * real cluster with the local image that holds CPython, the package, the script and the models.
 */
export function pythonPodPipeline(images: PythonPodImages) {
  return (
    pipeline('python-pod', {
      // As read from a CSV file: text, which score.py turns into numbers.
      params: z.object({ amounts: z.array(z.string()).default(['12.5', '7.5', '30']) }),
    })
      .pod(
        'extract',
        { output: z.object({ file: z.string(), amounts: z.array(z.string()) }) },
        (_inputs, { params }) => ({
          image: images.extract,
          command: [
            'sh',
            '-c',
            'printf \'{"file": "orders.csv", "amounts": %s}\' "$AMOUNTS" > "$PODLINE_XCOM_PATH"',
          ],
          env: { AMOUNTS: JSON.stringify(params.amounts) },
        }),
      )
      .pod(
        'score',
        {
          needs: ['extract'],
          output: z.object({
            file: z.string(),
            count: z.number().int(),
            total: z.number(),
            largest: z.number().nullable(),
          }),
        },
        // The inputs travel as JSON in a variable: score.py reads them with podline.load_json(…, ScoreInputs).
        ({ extract }) => ({
          image: images.score,
          command: images.scoreCommand,
          env: { SCORE_INPUTS: JSON.stringify({ extract }) },
        }),
      )
      // score.total is a number and score.largest a number or null, from the output schema.
      .task('report', { needs: ['score'] }, ({ score }) => ({
        line: `${score.file}: ${score.count} amounts, total ${score.total}`,
        largest: score.largest ?? 0,
      }))
  )
}

export const pythonPod = pythonPodPipeline({
  extract: 'alpine:3.20',
  score: 'python:3.12-slim',
  scoreCommand: ['python3', SCORE],
})

export default pythonPod

if (isMain(import.meta)) console.log(await runLocal(pythonPod, {}, { runtime: 'process' }))
