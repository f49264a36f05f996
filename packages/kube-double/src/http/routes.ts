import { getEvent, listEvents } from './event-handlers.js'
import { readLog } from './log-handler.js'
import { createPod, deletePod, evictPod, getPod, listPods, patchPod } from './pod-handlers.js'
import type { RouteHandler } from './route-handler.js'
import { watchPods } from './watch-handler.js'

/**
 * The handler of each `verb resource` served over plain HTTP. `create pods/exec` is not here: it
 * upgrades to a WebSocket (exec-handler.ts).
 */
export const ROUTES: ReadonlyMap<string, RouteHandler> = new Map(
  Object.entries({
    'create pods': createPod,
    'get pods': getPod,
    'list pods': listPods,
    'watch pods': watchPods,
    'delete pods': deletePod,
    'patch pods': patchPod,
    'create pods/eviction': evictPod,
    'get pods/log': readLog,
    'list events': listEvents,
    'get events': getEvent,
  }),
)
