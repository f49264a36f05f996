import { pipeline } from '@podline/sdk'

/** One task that takes a while, so a test can catch the worker with work in hand. */
export default pipeline('worker-app-slow').task('nap', async () => {
  await new Promise((r) => setTimeout(r, 1200))
  return 'rested'
})
