// `npm run bench:xcom -w @podline/bench`: only the large-XCom measures.
import { largeXComRows, measureLargeXComs } from './large-xcom.js'
import { formatTable } from './table.js'

const measures = await measureLargeXComs()
process.stdout.write(`${formatTable(['measure', 'Podline', 'peer', 'note'], largeXComRows(measures))}\n`)
process.stdout.write(`${JSON.stringify(measures)}\n`)
