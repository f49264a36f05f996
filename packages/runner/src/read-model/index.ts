// The UI's read model: what its JSON API answers, built on the listing and status queries the CLI reads.

export type { EventFeedOptions, FeedMessage } from './event-feed.js'
export { EventFeed, REPLAY_LIMIT } from './event-feed.js'
export type { Transition } from './events-after.js'
export { eventsAfter, lastEventId } from './events-after.js'
export type { PipelineOverview } from './pipelines-overview.js'
export { pipelinesOverview } from './pipelines-overview.js'
export type { Attempt, RunDetail } from './run-detail.js'
export { runDetail } from './run-detail.js'
export type { RunsPage, RunsPageOptions } from './runs-page.js'
export { MAX_RUNS_PAGE, runsPage } from './runs-page.js'
export type { LogPosition, TaskLogPage } from './task-log-page.js'
export { LOG_PAGE, taskLogPage } from './task-log-page.js'
