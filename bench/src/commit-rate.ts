import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { emptyDatabase } from './server.js'

export interface CommitRateResult {
  /** Single-row insert transactions per second, 1 client and 8 clients. */
  oneClient: number
  eightClients: number
}

/*
 * PostgreSQL's commit rate on this machine, the physical limit of any durable queue on it: pgbench
 * runs a one-row insert (one commit each) for 5 s with 1 and with 8 clients on a fresh database.
 */
export async function measureCommitRate(): Promise<CommitRateResult> {
  const db = await emptyDatabase('commit_bench')
  const dir = mkdtempSync(join(tmpdir(), 'podline-bench-pgbench-'))
  try {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} })
    await sql`create table t (id bigserial primary key, v int not null)`
    await sql.end()
    const script = join(dir, 'insert.sql')
    writeFileSync(script, 'insert into t (v) values (1);\n')
    const u = new URL(db.url)
    const tps = (clients: number) => {
      const out = execFileSync(
        'pgbench',
        [
          '-n',
          '-h',
          u.hostname,
          '-p',
          u.port || '5432',
          '-U',
          u.username || 'postgres',
          '-c',
          String(clients),
          '-j',
          String(Math.min(clients, 2)),
          '-T',
          '5',
          '-f',
          script,
          u.pathname.slice(1),
        ],
        { encoding: 'utf8' },
      )
      const match = /tps = ([\d.]+)/.exec(out)
      if (!match?.[1]) throw new Error(`no tps in pgbench's output: ${out}`)
      return Number(match[1])
    }
    return { oneClient: tps(1), eightClients: tps(8) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    await db.drop()
  }
}
