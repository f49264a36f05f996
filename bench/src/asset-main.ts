// `npm run bench:assets -w @podline/bench`: asset event → consumer latency on two workers, in under a minute.
import { assetLatencyRow, measureAssetLatency } from './asset-latency.js'
import { formatTable } from './table.js'

const result = await measureAssetLatency(2)
process.stdout.write(`${formatTable(['measure', 'Podline', '', 'note'], [assetLatencyRow(result)])}\n`)
