// `npm run bench:assets -w @podline/bench`: asset event → consumer latency on two workers, and a
// cached pipeline's re-run beside its uncached run, in under a minute.
import { assetLatencyRow, measureAssetLatency } from './asset-latency.js'
import { cacheRerunRow, measureCacheRerun } from './cache-rerun.js'
import { formatTable } from './table.js'

const latency = await measureAssetLatency(2)
const rerun = await measureCacheRerun()
process.stdout.write(
  `${formatTable(['measure', 'Podline', 'peer', 'note'], [assetLatencyRow(latency), cacheRerunRow(rerun)])}\n`,
)
