// `npm run bench:local -w @podline/bench`: only the local-loop measures, in a few minutes.
import { measureLocalBreakdown } from './local-breakdown.js'
import { localRunRows, measureLocalRun } from './local-run.js'
import { formatTable } from './table.js'

const breakdown = measureLocalBreakdown()
process.stdout.write(
  `${formatTable(
    ['where the time of podline run goes (warm store)', 'ms'],
    breakdown.steps.map((s) => [s.step, String(Math.round(s.ms))]),
  )}\n\n`,
)
const result = measureLocalRun()
process.stdout.write(`${formatTable(['measure', 'Podline', '', 'note'], localRunRows(result))}\n`)
process.stdout.write(`${JSON.stringify({ breakdown, result })}\n`)
