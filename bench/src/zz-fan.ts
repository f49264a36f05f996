import { measureFanout } from './map-fanout.js'

for (const n of [1000, 10000]) console.log(JSON.stringify(await measureFanout(n)))
