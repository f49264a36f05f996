import { useState } from 'react'
import { useLocation } from 'wouter'
import { ApiError, api, ok } from '../api.js'

/** The subset of JSON Schema the form draws a field for; anything else is edited as JSON. */
interface FieldSchema {
  type?: string | string[]
  enum?: unknown[]
  default?: unknown
  description?: string
  title?: string
  minimum?: number
  maximum?: number
}

interface ObjectSchema {
  type?: string
  properties?: Record<string, FieldSchema>
  required?: string[]
}

type Kind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'json'

function kindOf(s: FieldSchema): Kind {
  if (s.enum) return 'enum'
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type
  return t === 'string' || t === 'number' || t === 'integer' || t === 'boolean' ? t : 'json'
}

/**
 * A run's params as a form drawn from the plan's JSON Schema (the SDK stores it from zod 4, valibot
 * or arktype). The server validates with the same schema and its message is shown as it is.
 * Drawn here rather than with react-jsonschema-form, which brings its own theme and a second
 * validator into the bundle for what is, in params, a flat object of scalars (anything else is
 * edited as JSON).
 */
export function TriggerForm({
  pipeline,
  schema,
}: {
  pipeline: string
  schema: Record<string, unknown> | undefined
}) {
  const object = schema as ObjectSchema | undefined
  const fields = Object.entries(object?.properties ?? {})
  const required = new Set(object?.required ?? [])
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      fields.map(([name, s]) => [
        name,
        s.default === undefined ? '' : typeof s.default === 'string' ? s.default : JSON.stringify(s.default),
      ]),
    ),
  )
  const [error, setError] = useState<string>()
  const [issues, setIssues] = useState<ReadonlyMap<string, string>>(new Map())
  const [busy, setBusy] = useState(false)
  const [, navigate] = useLocation()

  function params(): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const [name, s] of fields) {
      const raw = values[name] ?? ''
      if (raw === '') continue
      const kind = kindOf(s)
      if (kind === 'string') out[name] = raw
      else if (kind === 'number' || kind === 'integer') out[name] = Number(raw)
      else if (kind === 'boolean') out[name] = raw === 'true'
      else if (kind === 'enum') out[name] = s.enum?.find((v) => JSON.stringify(v) === raw) ?? raw
      else {
        try {
          out[name] = JSON.parse(raw)
        } catch {
          throw new Error(`${name}: not JSON (${raw})`)
        }
      }
    }
    return out
  }

  return (
    <form
      className="trigger"
      data-testid={`trigger-${pipeline}`}
      noValidate
      onSubmit={async (e) => {
        e.preventDefault()
        setError(undefined)
        setIssues(new Map())
        setBusy(true)
        try {
          const { runId } = await ok(
            api.pipelines[':name'].runs.$post({
              param: { name: pipeline },
              json: { params: params() as never },
            }),
          )
          navigate(`/runs/${runId}`)
        } catch (err) {
          setError(err instanceof Error ? err.message : String(err))
          if (err instanceof ApiError) setIssues(new Map(err.issues.map((i) => [i.param, i.message])))
        } finally {
          setBusy(false)
        }
      }}
    >
      {fields.length === 0 && (
        <p>{schema ? 'No params.' : 'The params have no JSON Schema: the run gets {}.'}</p>
      )}
      {fields.map(([name, s]) => {
        const kind = kindOf(s)
        const set = (v: string) => setValues((old) => ({ ...old, [name]: v }))
        const value = values[name] ?? ''
        return (
          <div key={name} className="field">
            <label htmlFor={`param-${name}`}>
              {s.title ?? name}
              {required.has(name) && <span className="required"> *</span>}
              {s.description && <small> {s.description}</small>}
            </label>
            {kind === 'boolean' ? (
              <select value={value} onChange={(e) => set(e.target.value)} id={`param-${name}`} name={name}>
                <option value="" />
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : kind === 'enum' ? (
              <select value={value} onChange={(e) => set(e.target.value)} id={`param-${name}`} name={name}>
                <option value="" />
                {s.enum?.map((v) => (
                  <option key={JSON.stringify(v)} value={typeof v === 'string' ? v : JSON.stringify(v)}>
                    {String(v)}
                  </option>
                ))}
              </select>
            ) : kind === 'json' ? (
              <textarea
                value={value}
                onChange={(e) => set(e.target.value)}
                id={`param-${name}`}
                name={name}
                placeholder="JSON"
              />
            ) : (
              <input
                id={`param-${name}`}
                name={name}
                type={kind === 'string' ? 'text' : 'number'}
                step={kind === 'integer' ? 1 : 'any'}
                min={s.minimum}
                max={s.maximum}
                required={required.has(name)}
                value={value}
                onChange={(e) => set(e.target.value)}
              />
            )}
            {issues.has(name) && (
              <small className="error" data-testid={`param-error-${name}`}>
                {issues.get(name)}
              </small>
            )}
          </div>
        )
      })}
      <button type="submit" disabled={busy}>
        Trigger a run
      </button>
      {error && (
        <p className="error" data-testid="trigger-error">
          {error}
        </p>
      )}
    </form>
  )
}
