import { randomUUID } from 'node:crypto'
import postgres from 'postgres'
import { openDatabase } from '../store/database.js'

/** The server tests use: `DATABASE_URL`, else the local PostgreSQL with trust auth. */
export const TEST_SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface ScratchDatabase {
  url: string
  drop(): Promise<void>
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url)
  u.pathname = `/${name}`
  return u.toString()
}

const TEMPLATE = 'podline_test_template'

/**
 * A fresh, migrated database of its own for one test file: cloned from a template that is migrated
 * once per schema change (CREATE DATABASE … TEMPLATE is a file copy, much faster than migrating).
 * Returns its URL and a drop function.
 */
export async function freshDatabase(prefix = 'podline_test'): Promise<ScratchDatabase> {
  const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} })
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  try {
    await admin`select pg_advisory_lock(hashtext('podline.test-template'))`
    try {
      const [exists] = await admin`select 1 from pg_database where datname = ${TEMPLATE}`
      if (!exists) await admin.unsafe(`create database ${TEMPLATE}`)
      // Migrating is idempotent and cheap when nothing is pending; it keeps the template current.
      const template = await openDatabase({
        databaseUrl: withDatabase(TEST_SERVER_URL, TEMPLATE),
        poolSize: 1,
      })
      try {
        await template.migrate()
      } finally {
        await template.close()
      }
      await admin.unsafe(`create database ${name} template ${TEMPLATE}`)
    } finally {
      await admin`select pg_advisory_unlock(hashtext('podline.test-template'))`
    }
  } finally {
    await admin.end()
  }
  return scratch(name)
}

/** A new database with nothing in it (no Podline schema), for peers measured beside Podline. */
export async function emptyDatabase(prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end()
  }
  return scratch(name)
}

function scratch(name: string): ScratchDatabase {
  return {
    url: withDatabase(TEST_SERVER_URL, name),
    async drop() {
      const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} })
      try {
        await admin.unsafe(`drop database if exists ${name} with (force)`)
      } finally {
        await admin.end()
      }
    },
  }
}
