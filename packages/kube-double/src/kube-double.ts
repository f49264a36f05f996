import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex } from 'node:stream'
import { canBindMount } from '@podline/container-process'
import { WebSocketServer } from 'ws'
import { AdmissionFaults } from './api/admission-faults.js'
import { ApiError, statuses } from './api/api-error.js'
import { RequestCounter, type RequestCounts } from './api/request-counter.js'
import { ResourceStore } from './api/resource-store.js'
import type { DoubleContext } from './http/double-context.js'
import { EXEC_PROTOCOL, prepareExec, rejectUpgrade, runExec } from './http/exec-handler.js'
import { sendJson, sendStatus } from './http/http-io.js'
import { parseRoute, type Route } from './http/parse-route.js'
import { ROUTES } from './http/routes.js'
import { createFaults, type KubeDoubleFaults } from './kube-double-faults.js'
import { writeKubeconfig } from './kubeconfig-file.js'
import type { FakeNode } from './kubelet/fake-node.js'
import { parseImage } from './kubelet/image-reference.js'
import { Kubelet } from './kubelet/kubelet.js'
import type { ContainerSimulation } from './kubelet/simulated-container.js'
import type { EventJson, PodJson } from './wire-types.js'

export interface KubeDoubleOptions {
  /** The fake node's labels. Default `kubernetes.io/os=linux`, `kubernetes.io/hostname=double-node`. */
  nodeLabels?: Record<string, string>
  nodeName?: string
  /** Images that do not exist in any registry. Tags `:does-not-exist` never exist either. */
  missingImages?: readonly string[] | ((image: string) => boolean)
  /** How long ErrImagePull shows before ImagePullBackOff. Default 200 ms. */
  imagePullBackOffMs?: number
  /** Interval of BOOKMARK events on watches that allow them. Default 1 s. */
  bookmarkIntervalMs?: number
  /** Bind-mount volumes at their mountPath. Default: where the machine allows it (see `canBindMount`). */
  bindMounts?: boolean
  /** How many pod changes a watch can resume across before 410 Expired. Default 10 000. */
  watchHistoryLimit?: number
  /**
   * `'process'` (default): every container is a real process. A {@link ContainerSimulation}: no
   * process is spawned, pods go through the same status stages and each container does what
   * `simulate` says, so a test can hold thousands of pods on two cores.
   */
  containers?: 'process' | ContainerSimulation
  /** Labels of namespaces, e.g. `{ secure: { 'pod-security.kubernetes.io/enforce': 'restricted' } }`. */
  namespaceLabels?: Record<string, Record<string, string>>
}

/** A running double of the Kubernetes pod API. */
export interface KubeDouble {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** A kubeconfig file for the double: context `double`, namespace `default`. */
  readonly kubeconfigPath: string
  /** Whether volumes are really mounted at their mountPath (otherwise PODLINE_XCOM_PATH is rewritten). */
  readonly bindMounts: boolean
  readonly node: Readonly<FakeNode>
  readonly requests: RequestCounts
  readonly faults: KubeDoubleFaults
  /** Sets a namespace's labels; `pod-security.kubernetes.io/enforce` makes admission enforce that level. */
  labelNamespace(namespace: string, labels: Record<string, string>): void
  /** A copy of the stored pods (all namespaces when none is given). */
  pods(namespace?: string): PodJson[]
  /** A copy of the recorded events. */
  events(namespace?: string): EventJson[]
  /** Kills every container process, ends every connection, removes the temp folders. */
  close(): Promise<void>
}

/**
 * Starts the double on a free port of 127.0.0.1.
 *
 * @example
 * const double = await startKubeDouble()
 * const kc = new KubeConfig()
 * kc.loadFromFile(double.kubeconfigPath)
 * const api = kc.makeApiClient(CoreV1Api)
 */
export async function startKubeDouble(options: KubeDoubleOptions = {}): Promise<KubeDouble> {
  const root = await mkdtemp(join(tmpdir(), 'kube-double-'))
  const bindMounts = options.bindMounts ?? (await canBindMount())
  const node: FakeNode = {
    name: options.nodeName ?? 'double-node',
    labels: options.nodeLabels ?? {
      'kubernetes.io/os': 'linux',
      'kubernetes.io/hostname': options.nodeName ?? 'double-node',
    },
    ip: '127.0.0.1',
    ready: true,
  }
  const missing = options.missingImages
  const isImageMissing = (image: string): boolean => {
    const parsed = parseImage(image)
    if (parsed.valid && parsed.tag === 'does-not-exist') return true
    if (typeof missing === 'function') return missing(image)
    return (missing ?? []).some((m) => m === image || (parsed.valid && m === parsed.normalized))
  }
  const store = new ResourceStore(options.watchHistoryLimit)
  const kubelet = new Kubelet({
    store,
    node,
    bindMounts,
    volumesRoot: root,
    imagePullBackOffMs: options.imagePullBackOffMs ?? 200,
    isImageMissing,
    simulation: options.containers === 'process' ? undefined : options.containers,
  })
  const admission = new AdmissionFaults()
  const requests = new RequestCounter()
  const ctx: DoubleContext = {
    store,
    kubelet,
    admission,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    openWatches: new Set(),
    openLogs: new Set(),
    namespaceLabels: new Map(Object.entries(options.namespaceLabels ?? {})),
  }

  const admit = (route: Route): void => {
    requests.record(route)
    admission.checkRequest(route)
  }

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      const status = error instanceof ApiError ? error : new ApiError(statuses.internal(String(error)))
      if (!response.headersSent) sendStatus(response, status.status, status.headers)
      else response.destroy()
    })
  })

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://double')
    if (url.pathname === '/version') {
      sendJson(response, 200, {
        major: '1',
        minor: '31',
        gitVersion: 'v1.31.0-kube-double',
        platform: 'linux/amd64',
      })
      return
    }
    const route = parseRoute(request.method ?? 'GET', url)
    if (!route) throw new ApiError(statuses.notFound('', url.pathname))
    admit(route)
    if (route.verb === 'create' && route.resource === 'pods/exec')
      throw new ApiError(statuses.badRequest('Upgrade request required'))
    const serve = ROUTES.get(`${route.verb} ${route.resource}`)
    if (!serve)
      throw new ApiError(
        statuses.methodNotAllowed(`the server does not allow this method on the requested resource`),
      )
    return serve(ctx, route, response, request)
  }

  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has(EXEC_PROTOCOL) ? EXEC_PROTOCOL : false),
  })
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    const route = parseRoute(request.method ?? 'GET', new URL(request.url ?? '/', 'http://double'))
    try {
      const exec = route?.resource === 'pods/exec' ? route : undefined
      if (!exec) throw new ApiError(statuses.notFound('', request.url ?? ''))
      admit(exec)
      runExec(wss, request, socket, head, prepareExec(ctx, exec))
    } catch (error) {
      rejectUpgrade(
        socket,
        error instanceof ApiError ? error : new ApiError(statuses.internal(String(error))),
      )
    }
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const kubeconfigPath = await writeKubeconfig(root, url)

  let closing: Promise<void> | undefined
  return {
    url,
    kubeconfigPath,
    bindMounts,
    node,
    requests,
    faults: createFaults(ctx, admission, kubelet, store),
    labelNamespace: (namespace, labels) => ctx.namespaceLabels.set(namespace, { ...labels }),
    pods: (namespace) => structuredClone(store.listPods(namespace)),
    events: (namespace) => structuredClone(store.listEvents(namespace)),
    close: () => {
      // Reverse order of acquisition: connections, then processes, then the folders.
      closing ??= (async () => {
        for (const response of ctx.openWatches) response.destroy()
        for (const response of ctx.openLogs) response.destroy()
        for (const client of wss.clients) client.terminate()
        await kubelet.close()
        wss.close()
        server.closeAllConnections()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        await rm(root, { recursive: true, force: true })
      })()
      return closing
    },
  }
}
