import { readFile } from 'node:fs/promises'
import type { V1Pod } from '@kubernetes/client-node'
import { parse } from 'yaml'

/**
 * Loads `podTemplate`: an object is used as is; a string is a path to a YAML (or JSON) file, read on
 * the worker when the task runs, so the file must exist where the worker runs.
 */
export async function loadPodTemplate(
  template: string | V1Pod | undefined,
  task: string,
): Promise<V1Pod | undefined> {
  if (template === undefined) return undefined
  if (typeof template !== 'string') return template
  let text: string
  try {
    text = await readFile(template, 'utf8')
  } catch (error) {
    throw new TypeError(
      `pod task "${task}": cannot read podTemplate ${JSON.stringify(template)} (${(error as Error).message}); ` +
        'the path is read on the worker, relative to its working directory',
      { cause: error },
    )
  }
  let parsed: unknown
  try {
    parsed = parse(text)
  } catch (error) {
    throw new TypeError(
      `pod task "${task}": podTemplate ${template} is not valid YAML: ${(error as Error).message}`,
      {
        cause: error,
      },
    )
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TypeError(
      `pod task "${task}": podTemplate ${template} must hold one Pod object (kind: Pod, spec: …)`,
    )
  }
  const kind = (parsed as { kind?: unknown }).kind
  if (kind !== undefined && kind !== 'Pod') {
    throw new TypeError(`pod task "${task}": podTemplate ${template} holds a ${String(kind)}, not a Pod`)
  }
  return parsed as V1Pod
}
