// The tables, for tests that write or read rows directly; not part of the runner's public API.
export * as schema from '../store/schema.js'
export { attemptRef } from './attempt-ref.js'
export {
  emptyDatabase,
  freshDatabase,
  openFreshDatabase,
  type ScratchDatabase,
  TEST_SERVER_URL,
  withDatabase,
} from './fresh-database.js'
export { type S3TestServer, startS3Server } from './s3-server.js'
export { type SimulatedPodTasks, simulatedPodTasks } from './simulated-pods.js'
export { type Driver, storeForDriver } from './store-for-driver.js'
export { runEnded, waitUntil } from './wait-until.js'
