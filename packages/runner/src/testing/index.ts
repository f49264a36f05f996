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
export { waitUntil } from './wait-until.js'
