import { Readable } from 'node:stream'
import {
  AssetEmitError,
  assetEvents,
  cancelRun,
  type Database,
  deletePool,
  type EventFeed,
  emitAssetEvent,
  InvalidParamsError,
  InvalidPoolError,
  isReference,
  listAssets,
  listPools,
  MAX_EMITTED_ASSET_BYTES,
  pipelinesOverview,
  planToTrigger,
  poolInUseMessage,
  RetryError,
  RUN_STATES,
  type RunState,
  RunsFromAssetsError,
  resolveValue,
  retryRun,
  runDetail,
  runStatus,
  runsPage,
  SignalError,
  setPool,
  setSchedulePaused,
  signalWait,
  taskLogPage,
  taskXcoms,
  triggerPlan,
  type XComStore,
} from '@podline/runner'
import type { KubeClient, PodStatus } from '@podline/runner/pods'
import type { JsonValue } from '@podline/sdk'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import { setCookie } from 'hono/cookie'
import { validator } from 'hono/validator'
import { eventsRoute } from './events-route.js'
import { apiGuard, isAuthenticated, TOKEN_COOKIE, tokenMatches } from './guard.js'
import { checkLogsQuery, type LogsQuery, logPosition } from './logs-query.js'

export interface ApiOptions {
  database: Database
  feed: EventFeed
  /** PODLINE_UI_TOKEN. */
  token?: string
  loopbackOnly: boolean
  /** Where offloaded XCom values are read from (PODLINE_XCOM_STORE); without it they show as references. */
  xcomStore?: XComStore
  /** The cluster a pod task's pod is read from, made on first use; without it pods show by name only. */
  kube?: () => Promise<KubeClient>
}

/** Offloaded values up to this size are shown inline; larger ones are streamed from their own URL. */
const INLINE_XCOM_BYTES = 1024 * 1024

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

type Problem = { error: string; issues?: Array<{ path: string; message: string }> }

/** The events GET /api/assets/:name/events answers at once, unless `limit` says; and the most it may. */
const ASSET_EVENTS_PAGE = 50
const MAX_ASSET_EVENTS_PAGE = 200
/** An emitted event's body at most: room for the largest value emitAssetEvent takes, indented. */
const MAX_ASSET_BODY_BYTES = 4 * MAX_EMITTED_ASSET_BYTES

/** GET /api/runs' query: every field optional, as a URL gives them. */
interface RunsQuery {
  pipeline?: string
  state?: string
  after?: string
  limit?: number
}

/**
 * The JSON API under /api. Every answer comes from the runner's read model and operator
 * operations; the routes are chained so `hc<Api>` types the single-page app's calls.
 */
export function createApi(options: ApiOptions) {
  const { database, feed, token } = options
  return new Hono()
    .use('*', apiGuard({ loopbackOnly: options.loopbackOnly, ...(token ? { token } : {}) }))
    .get('/session', (c) =>
      c.json({ tokenRequired: token !== undefined, authenticated: isAuthenticated(c, token) }),
    )
    .post(
      '/login',
      validator('json', (v, c) =>
        typeof v?.token === 'string'
          ? { token: v.token as string }
          : c.json<Problem>({ error: 'send { "token": "…" }' }, 400),
      ),
      (c) => {
        const given = c.req.valid('json').token
        if (!tokenMatches(token, given)) return c.json<Problem>({ error: 'that is not the UI token' }, 401)
        setCookie(c, TOKEN_COOKIE, given, { httpOnly: true, sameSite: 'Strict', path: '/' })
        return c.json({ authenticated: true })
      },
    )
    .get(
      '/runs',
      validator('query', async (q, c): Promise<RunsQuery | Response> => {
        const state = typeof q.state === 'string' && q.state !== '' ? q.state : undefined
        if (state !== undefined && !(RUN_STATES as readonly string[]).includes(state))
          return c.json<Problem>(
            { error: `state ${state} is not a run state; use one of ${RUN_STATES.join(', ')}` },
            400,
          )
        const after = typeof q.after === 'string' && q.after !== '' ? q.after : undefined
        if (after !== undefined && !UUID.test(after))
          return c.json<Problem>({ error: `after=${after} is not a run id` }, 400)
        const limit = typeof q.limit === 'string' ? Number(q.limit) : 50
        if (!Number.isInteger(limit) || limit < 1)
          return c.json<Problem>(
            { error: `limit=${String(q.limit)} is not a whole number of at least 1` },
            400,
          )
        const pipeline = typeof q.pipeline === 'string' && q.pipeline !== '' ? q.pipeline : undefined
        return {
          limit,
          ...(pipeline ? { pipeline } : {}),
          ...(state ? { state } : {}),
          ...(after ? { after } : {}),
        }
      }),
      async (c) => {
        // The validator checked the state against RUN_STATES; the client's type says string.
        const { state, ...rest } = c.req.valid('query')
        return c.json(
          await runsPage(database, {
            ...rest,
            ...(state ? { state: state as RunState } : {}),
          }),
        )
      },
    )
    .get('/runs/:id', async (c) => {
      const id = c.req.param('id')
      const detail = UUID.test(id) ? await runDetail(database, id) : undefined
      if (!detail) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
      return c.json(detail)
    })
    .get(
      '/runs/:id/tasks/:task/logs',
      validator('query', (q, c): LogsQuery | Response => {
        const checked = checkLogsQuery(q)
        return 'error' in checked ? c.json<Problem>(checked, 400) : checked
      }),
      async (c) => {
        const { id, task } = c.req.param()
        if (!UUID.test(id)) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
        const query = c.req.valid('query')
        const page = await taskLogPage(database, id, task, logPosition(query), query.limit)
        return c.json({
          lines: page.lines.map((l) => ({
            id: l.id.toString(),
            attempt: l.attempt,
            level: l.level,
            message: l.message,
            fields: l.fields as JsonValue,
            at: l.createdAt,
          })),
          total: page.total,
          offset: page.offset,
        })
      },
    )
    .get('/runs/:id/tasks/:task/xcoms', async (c) => {
      const { id, task } = c.req.param()
      if (!UUID.test(id)) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
      const rows = await taskXcoms(database, id, task)
      const xcoms = await Promise.all(
        rows.map(async (x) => {
          if (!isReference(x.value)) return { ...x, value: x.value as JsonValue, offloaded: null }
          const ref = x.value.$podline
          const offloaded = { store: ref.store, size: ref.size, sha256: ref.sha256 }
          const inline = options.xcomStore && ref.size <= INLINE_XCOM_BYTES
          const value = inline
            ? ((await resolveValue(
                options.xcomStore,
                x.value,
                `the XCom ${x.key} of task "${task}"`,
              )) as JsonValue)
            : null
          return { ...x, value, offloaded }
        }),
      )
      return c.json({ xcoms })
    })
    .get('/runs/:id/tasks/:task/pod', async (c) => {
      // The pod of a pod task, as the cluster sees it now: found by the names its attempt stored.
      const { id, task } = c.req.param()
      if (!UUID.test(id)) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
      const rows = await taskXcoms(database, id, task)
      const name = rows.find((x) => x.key === 'pod_name')?.value
      const namespace = rows.find((x) => x.key === 'pod_namespace')?.value
      if (typeof name !== 'string' || typeof namespace !== 'string')
        return c.json<Problem>({ error: `task ${task} of run ${id} has no pod (yet)` }, 404)
      const unread = (why: string) => c.json({ name, namespace, status: null as PodStatus | null, why })
      if (!options.kube)
        return unread('podline ui has no cluster to read pods from (no kubeconfig was found)')
      try {
        const { podStatus } = await import('@podline/runner/pods')
        const status = await podStatus(await options.kube(), { namespace, name })
        return c.json({ name, namespace, status: status as PodStatus | null, why: null as string | null })
      } catch (error) {
        return unread(
          `the cluster could not be read: ${error instanceof Error ? error.message : String(error)}`,
        )
      }
    })
    .get('/runs/:id/tasks/:task/xcoms/:key/value', async (c) => {
      // An offloaded value of any size, streamed from the store as it is read, never held whole.
      const { id, task, key } = c.req.param()
      if (!UUID.test(id)) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
      const row = (await taskXcoms(database, id, task)).find((x) => x.key === key)
      if (!row) return c.json<Problem>({ error: `task ${task} of run ${id} has no XCom ${key}` }, 404)
      if (!isReference(row.value)) return c.json(row.value as JsonValue)
      if (!options.xcomStore)
        return c.json<Problem>(
          {
            error: `the value is in ${row.value.$podline.store}; start podline ui with PODLINE_XCOM_STORE set to it`,
          },
          409,
        )
      const body = await options.xcomStore.stream(row.value.$podline.key)
      return new Response(Readable.toWeb(body) as ReadableStream, {
        headers: { 'content-type': 'application/json', 'content-length': String(row.value.$podline.size) },
      })
    })
    .get('/pipelines', async (c) => c.json({ pipelines: await pipelinesOverview(database) }))
    .post(
      '/pipelines/:name/runs',
      validator('json', (v, c) => {
        if (v === null || typeof v !== 'object' || Array.isArray(v))
          return c.json<Problem>({ error: 'send { "params": { … } }' }, 400)
        const params = (v as { params?: unknown }).params ?? {}
        if (params === null || typeof params !== 'object' || Array.isArray(params))
          return c.json<Problem>({ error: 'params must be a JSON object' }, 400)
        return { params: params as JsonValue }
      }),
      async (c) => {
        const name = c.req.param('name')
        const chosen = await planToTrigger(database, name)
        if ('problem' in chosen) {
          if (chosen.problem === 'unknown-pipeline')
            return c.json<Problem>({ error: `no pipeline named "${name}" is registered` }, 404)
          return c.json<Problem>(
            {
              error: `no live worker serves pipeline "${name}", so a run would wait forever; start one with: podline worker <the file that defines ${name}>`,
            },
            409,
          )
        }
        try {
          const runId = await triggerPlan(database, chosen.plan, c.req.valid('json').params)
          return c.json({ runId, version: chosen.plan.version }, 201)
        } catch (error) {
          if (error instanceof InvalidParamsError)
            return c.json({ error: error.message, issues: [...error.issues] }, 400)
          if (error instanceof RunsFromAssetsError) return c.json<Problem>({ error: error.message }, 409)
          throw error
        }
      },
    )
    .post('/pipelines/:name/:action{pause|unpause}', async (c) => {
      const { name, action } = c.req.param()
      const paused = action === 'pause'
      if (!(await setSchedulePaused(database, name, paused)))
        return c.json<Problem>({ error: `pipeline "${name}" has no schedule to ${action}` }, 404)
      return c.json({ paused })
    })
    .post('/runs/:id/cancel', async (c) => {
      const id = c.req.param('id')
      if (!UUID.test(id)) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
      if (await cancelRun(database, id)) return c.json({ cancelled: true, state: 'cancelled' as RunState })
      const status = await runStatus(database, id)
      if (!status) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
      return c.json<Problem>(
        { error: `run ${id} already ended (${status.run.state}); nothing to cancel` },
        409,
      )
    })
    .post(
      '/runs/:id/retry',
      validator('json', (v): { task?: string } =>
        typeof v?.task === 'string' ? { task: v.task as string } : {},
      ),
      async (c) => {
        const id = c.req.param('id')
        if (!UUID.test(id)) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
        try {
          return c.json({ queued: await retryRun(database, id, c.req.valid('json').task) })
        } catch (error) {
          if (error instanceof RetryError) return c.json<Problem>({ error: error.message }, 409)
          throw error
        }
      },
    )
    .post(
      '/runs/:id/signal/:step',
      // The payload as sent: signalWait checks it against the step's schema.
      validator('json', (v): JsonValue => v as JsonValue),
      async (c) => {
        const { id, step } = c.req.param()
        if (!UUID.test(id)) return c.json<Problem>({ error: `there is no run ${id}` }, 404)
        try {
          await signalWait(database, id, step, c.req.valid('json'))
          return c.json({ signalled: true })
        } catch (error) {
          if (!(error instanceof SignalError)) throw error
          const status = error.reason === 'unknown' ? 404 : error.reason === 'invalid' ? 400 : 409
          return c.json<Problem>({ error: error.message, issues: [...error.issues] }, status)
        }
      },
    )
    .get('/assets', async (c) => {
      const assets = await listAssets(database)
      return c.json({
        assets: assets.map((a) => ({
          ...a,
          jsonSchema: a.jsonSchema as JsonValue,
          lastEvent: a.lastEvent && { ...a.lastEvent, value: a.lastEvent.value as JsonValue },
        })),
      })
    })
    .get(
      '/assets/:name/events',
      validator('query', (q, c): { before?: string; limit?: number } | Response => {
        const before = typeof q.before === 'string' && q.before !== '' ? q.before : undefined
        if (before !== undefined && !/^[1-9]\d{0,17}$/.test(before))
          return c.json<Problem>({ error: `before=${before} is not an event id` }, 400)
        const limit = typeof q.limit === 'string' ? Number(q.limit) : ASSET_EVENTS_PAGE
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ASSET_EVENTS_PAGE)
          return c.json<Problem>(
            { error: `limit=${String(q.limit)} is not a whole number from 1 to ${MAX_ASSET_EVENTS_PAGE}` },
            400,
          )
        return { limit, ...(before ? { before } : {}) }
      }),
      async (c) => {
        const { limit = ASSET_EVENTS_PAGE, before } = c.req.valid('query')
        // One more than the page: whether there is a next one, without a request that answers none.
        const rows = await assetEvents(database, c.req.param('name'), {
          limit: limit + 1,
          ...(before ? { before } : {}),
        })
        const events = rows.slice(0, limit).map((e) => ({ ...e, value: e.value as JsonValue }))
        return c.json({ events, next: rows.length > limit ? (events.at(-1)?.id ?? null) : null })
      },
    )
    .post(
      '/assets/:name/events',
      // A value past the emit limit is refused by emitAssetEvent; a body far past it is not read whole.
      bodyLimit({
        maxSize: MAX_ASSET_BODY_BYTES,
        // Answered before the body is read: the connection closes, so no client sends its next request on it.
        onError: (c) =>
          c.json<Problem>(
            {
              error: `the body is over ${MAX_ASSET_BODY_BYTES} bytes; an event's value is at most ${MAX_EMITTED_ASSET_BYTES}`,
            },
            413,
            { connection: 'close' },
          ),
      }),
      // The value as sent: emitAssetEvent checks it against the asset's JSON Schema.
      validator('json', (v): JsonValue => v as JsonValue),
      async (c) => {
        const name = c.req.param('name')
        try {
          const id = await emitAssetEvent(database, name, c.req.valid('json'))
          return c.json({ id, asset: name }, 201)
        } catch (error) {
          if (!(error instanceof AssetEmitError)) throw error
          return c.json<Problem>(
            { error: error.message, issues: [...error.issues] },
            error.reason === 'unknown' ? 404 : 400,
          )
        }
      },
    )
    .get('/pools', async (c) => c.json({ pools: await listPools(database) }))
    .put(
      '/pools/:name',
      validator('json', (v): { slots: unknown; description?: string } => ({
        slots: v?.slots,
        ...(typeof v?.description === 'string' ? { description: v.description as string } : {}),
      })),
      async (c) => {
        const name = c.req.param('name')
        const { slots, description } = c.req.valid('json')
        if (typeof slots !== 'number')
          return c.json<Problem>(
            { error: `slots must be a whole number from 0 up, got ${JSON.stringify(slots)}` },
            400,
          )
        try {
          const { previousSlots } = await setPool(database, {
            name,
            slots,
            ...(description === undefined ? {} : { description }),
          })
          return c.json({ name, slots, previousSlots })
        } catch (error) {
          if (error instanceof InvalidPoolError) return c.json<Problem>({ error: error.message }, 400)
          throw error
        }
      },
    )
    .delete('/pools/:name', async (c) => {
      const name = c.req.param('name')
      const result = await deletePool(database, name)
      if (result.outcome === 'missing') return c.json<Problem>({ error: `there is no pool "${name}"` }, 404)
      if (result.outcome === 'in-use')
        return c.json<Problem>({ error: poolInUseMessage(name, result.users) }, 409)
      return c.json({ deleted: true })
    })
    .get('/events', (c) => eventsRoute(c, feed))
}

export type Api = ReturnType<typeof createApi>
