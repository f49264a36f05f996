export { freshDatabase, TEST_SERVER_URL } from './fresh-database.js'
export { type Driver, storeForDriver } from './store-for-driver.js'
