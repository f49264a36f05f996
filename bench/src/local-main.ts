// `npm run bench:local -w @podline/bench`: only the local-loop measures, in a minute.
import { localRunRows, measureLocalRun } from './local-run.js'
import { formatTable } from './table.js'

const result = measureLocalRun()
process.stdout.write(`${formatTable(['measure', 'Podline', '', 'note'], localRunRows(result))}\n`)
process.stdout.write(`${JSON.stringify(result)}\n`)
