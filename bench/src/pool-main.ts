// `npm run bench:pools -w @podline/bench`: only the price of pools, in a minute or two.
import { measurePoolOverhead, poolOverheadRow } from './pool-overhead.js'
import { formatTable } from './table.js'

const tasks = Number(process.argv[2] ?? 4000)
const result = await measurePoolOverhead(tasks)
process.stdout.write(`${formatTable(['measure', 'Podline', '', 'note'], [poolOverheadRow(result)])}\n`)
