import { measurePodScale } from './pod-scale.js'

/** `npm run bench:pods -w @podline/bench [pods] [endSpreadMs]`: pod supervision at scale, printed as JSON. */
const pods = Number(process.argv[2] ?? 1000)
const spread = process.argv[3] === undefined ? undefined : Number(process.argv[3])
process.stdout.write(`${JSON.stringify(await measurePodScale(pods, spread), null, 2)}\n`)
