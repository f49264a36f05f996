// `npm run bench:xcom -w @podline/bench`: only the large-XCom measures (inline tasks, then pods).
import { largeXComRows, measureLargeXComs } from './large-xcom.js'
import { measurePodXComs, podXComRows } from './pod-xcom.js'
import { formatTable } from './table.js'

const measures = await measureLargeXComs()
const pods = await measurePodXComs()
process.stdout.write(
  `${formatTable(['measure', 'Podline', 'peer', 'note'], [...largeXComRows(measures), ...podXComRows(pods)])}\n`,
)
process.stdout.write(`${JSON.stringify({ inline: measures, pods })}\n`)
