import { openDatabase, runLocal } from '@podline/runner'
import { pipeline } from '@podline/sdk'
import { podlineDatabase } from './databases.js'
const N = Number(process.argv[2] ?? 10000)
const db = await podlineDatabase()
const database = await openDatabase({ databaseUrl: db.url })
const ends: number[] = []
const p = pipeline('fanout')
  .map('each', { over: () => Array.from({ length: N }, (_, i) => i) }, (n) => n * 2)
  .task('sum', { needs: ['each'] }, ({ each }) => each.length)
await runLocal(p, undefined, { database, concurrency: 8, onAttempt: (e) => {
  if (e.type === 'finished' && e.mapIndex !== undefined) ends.push(performance.now())
} })
const per = (a: number, b: number) => ((ends[b]! - ends[a]!) / (b - a)).toFixed(2)
const out = []
for (let i = N - 1000; i < N; i += 100) out.push(`${i}:${per(i, Math.min(i + 99, N - 1))}`)
console.log(out.join(' '))
await database.close(); await db.drop()
