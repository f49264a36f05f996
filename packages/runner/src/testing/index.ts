export { freshDatabase, TEST_SERVER_URL } from './fresh-database.js'
