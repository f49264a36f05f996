// `npm run bench:signals -w @podline/bench`: signal latency with many runs waiting, in a minute or two.
import { measureSignalLatency, signalLatencyRow } from './signal-latency.js'
import { formatTable } from './table.js'

const waiting = Number(process.argv[2] ?? 10_000)
const result = await measureSignalLatency(waiting)
process.stdout.write(`${formatTable(['measure', 'Podline', '', 'note'], [signalLatencyRow(result)])}\n`)
