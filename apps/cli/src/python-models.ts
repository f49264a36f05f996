import type { AnyPipeline, AnySchema, PodTaskDefinition, TaskDefinition } from '@podline/sdk'
import { UsageError } from './usage-error.js'

/**
 * What `podline codegen --python` hands datamodel-codegen: one JSON Schema document per pod task,
 * whose root is the value the pod writes (`<Task>Output`) and whose `$defs` add the inputs the task
 * is given (`<Task>Inputs`: the outputs of its `needs`). Schemas come from Standard JSON Schema
 * (`~standard.jsonSchema`, which zod implements with z.toJSONSchema), the interface the SDK already
 * reads the params' schema through, so no schema library is imported here.
 */
export interface PythonModelModule {
  /** The pod task. */
  readonly task: string
  /** The Python module's name: the task's, as an identifier (`load-orders` → `load_orders`). */
  readonly module: string
  readonly outputClass: string
  /** Absent when the task needs nothing. */
  readonly inputsClass: string | undefined
  readonly schema: JsonSchema
}

type JsonSchema = { [key: string]: unknown }

interface JsonSchemaConverter {
  input(options: { target: string }): JsonSchema
  output(options: { target: string }): JsonSchema
}

const TARGET = 'draft-2020-12'

/** Every pod task's module, sorted by task name. A task whose output schema cannot be exported is a UsageError. */
export function pythonModelModules(pipeline: AnyPipeline): PythonModelModule[] {
  const tasks: readonly TaskDefinition[] = pipeline.tasks
  const pods = tasks
    .filter((t): t is PodTaskDefinition => t.kind === 'pod')
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return pods.map((def) => moduleOf(def, tasks))
}

function moduleOf(def: PodTaskDefinition, tasks: readonly TaskDefinition[]): PythonModelModule {
  const outputClass = `${className(def.name)}Output`
  // What the pod writes is what the worker validates: the schema's input side (before defaults and
  // transforms apply), so a field with a default may be left out here.
  const written = def.output === undefined ? {} : ownOutput(def.output, def.name)
  const { $defs: ownDefs, $schema: _, ...root } = written
  const defs: JsonSchema = { ...(ownDefs as JsonSchema | undefined) }
  const inputsClass = def.needs.length > 0 ? `${className(def.name)}Inputs` : undefined
  if (inputsClass !== undefined) {
    const properties: JsonSchema = {}
    for (const need of def.needs) {
      const upstream = tasks.find((t) => t.name === need)
      const { schema, defs: upstreamDefs } = receivedOutput(upstream, need)
      Object.assign(defs, upstreamDefs)
      properties[need] = schema
    }
    // Under a rule other than all_success the task may run after an upstream failed or was skipped:
    // that upstream's output is then missing, as the SDK types it `T | undefined`.
    const required = def.options.triggerRule === 'all_success' ? [...def.needs] : []
    defs[inputsClass] = {
      title: inputsClass,
      description: `The outputs of the tasks pod task "${def.name}" needs, as its spec function receives them.`,
      type: 'object',
      properties,
      required,
    }
  }
  return {
    task: def.name,
    module: moduleName(def.name),
    outputClass,
    inputsClass,
    schema: {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      ...root,
      title: outputClass,
      description:
        def.output === undefined
          ? `What pod task "${def.name}" writes: it declares no output schema, so any JSON value.`
          : `What pod task "${def.name}" writes to $PODLINE_XCOM_PATH (its output schema's input).`,
      ...(Object.keys(defs).length > 0 ? { $defs: defs } : {}),
    },
  }
}

/** What the pod writes, or a UsageError naming the task, the problem and the fix. */
function ownOutput(schema: AnySchema, task: string): JsonSchema {
  const exported = jsonSchemaOf(schema, 'input')
  if ('schema' in exported) return exported.schema
  throw new UsageError(`the output schema of pod task "${task}" ${exported.why}; ${exported.fix}`)
}

/**
 * An upstream's output as the task receives it (the schema's output side), moved under `$defs` with
 * its own definitions renamed after it, so two upstreams' definitions never collide. A value no
 * schema describes (an inline task's, a pod task's without `output`, one with a transform) is any
 * JSON, said in its description: the model stays useful for the inputs that are described.
 */
function receivedOutput(
  upstream: TaskDefinition | undefined,
  need: string,
): { schema: JsonSchema; defs: JsonSchema } {
  const prefix = className(need)
  const anyValue = (why: string) => ({
    schema: { description: `The output of task "${need}": ${why}.` },
    defs: {},
  })
  if (upstream?.kind !== 'pod') return anyValue('an inline task, typed by TypeScript rather than by a schema')
  if (upstream.output === undefined) return anyValue('a pod task with no output schema, so any JSON value')
  const described = jsonSchemaOf(upstream.output, 'output')
  if (!('schema' in described)) return anyValue(`any JSON value, since its output schema ${described.why}`)
  const name = `${prefix}Output`
  const renamed = renameRefs(described.schema, prefix, name) as JsonSchema
  const { $defs: upstreamDefs, $schema: _, ...root } = renamed
  const defs: JsonSchema = { [name]: { ...root, title: name } }
  for (const [key, value] of Object.entries((upstreamDefs as JsonSchema | undefined) ?? {}))
    defs[`${prefix}${key}`] = value
  const schema = { $ref: `#/$defs/${name}` }
  return { schema: upstream.map ? { type: 'array', items: schema } : schema, defs }
}

/** `$ref`s of an upstream's document, pointed at where its parts now live in the task's document. */
function renameRefs(value: unknown, prefix: string, rootName: string): unknown {
  if (Array.isArray(value)) return value.map((v) => renameRefs(v, prefix, rootName))
  if (value === null || typeof value !== 'object') return value
  return Object.fromEntries(
    Object.entries(value).map(([key, child]) => {
      if (key !== '$ref' || typeof child !== 'string') return [key, renameRefs(child, prefix, rootName)]
      if (child === '#') return [key, `#/$defs/${rootName}`]
      if (child.startsWith('#/$defs/')) return [key, `#/$defs/${prefix}${child.slice('#/$defs/'.length)}`]
      return [key, child]
    }),
  )
}

/** The schema's JSON Schema through Standard JSON Schema, or why there is none and what to change. */
function jsonSchemaOf(
  schema: AnySchema,
  io: 'input' | 'output',
): { schema: JsonSchema } | { why: string; fix: string } {
  const standard = schema['~standard'] as AnySchema['~standard'] & { jsonSchema?: JsonSchemaConverter }
  if (standard.vendor === 'podline')
    return {
      why: 'is json<…>(), a TypeScript type with no schema behind it, so podline codegen has nothing to export',
      fix: 'describe the output with a zod schema (z.object({ … })) to generate its Python model',
    }
  if (standard.jsonSchema === undefined)
    return {
      why: `is a ${standard.vendor} schema, which does not implement Standard JSON Schema (its ~standard has no jsonSchema), so podline codegen cannot export it`,
      fix: "describe this task's output with a library that does, such as zod 4 (z.object({ … }))",
    }
  try {
    return { schema: standard.jsonSchema[io]({ target: TARGET }) }
  } catch (error) {
    return {
      why: `cannot be exported to JSON Schema: ${(error as Error).message}`,
      fix:
        'describe the value the pod writes without it (a string instead of a date, no transform or custom check), ' +
        'or leave the output schema out to take any JSON',
    }
  }
}

const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
)

/** A task name (lowercase letters, digits and '-') as a module name. */
export function moduleName(task: string): string {
  const name = task.replaceAll('-', '_')
  if (/^\d/.test(name)) return `task_${name}`
  return PYTHON_KEYWORDS.has(name) ? `${name}_` : name
}

/** A task name as the start of a class name: `load-orders` → `LoadOrders`, `7day` → `Task7day`. */
export function className(task: string): string {
  const name = task
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')
  return /^\d/.test(name) ? `Task${name}` : name
}
