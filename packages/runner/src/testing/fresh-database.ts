import { randomUUID } from 'node:crypto'
import postgres from 'postgres'
import { type Database, openDatabase } from '../store/database.js'
import { migrationsDigest } from '../store/migrations-folder.js'

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

/**
 * One template per set of migrations: checkouts of different branches on one server (or an older
 * run's template) never hand a test a schema that does not match its code.
 */
const TEMPLATE = `podline_test_template_${migrationsDigest()}`

/**
 * A fresh, migrated database of its own for one test file: cloned from a template that is migrated
 * once per schema change (CREATE DATABASE … TEMPLATE is a file copy, much faster than migrating).
 * Returns its URL and a drop function.
 */
export async function freshDatabase(prefix = 'podline_test'): Promise<ScratchDatabase> {
  const admin = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} })
  const name = `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  try {
    await admin`select pg_advisory_lock(hashtext(${TEMPLATE}))`
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
      await admin`select pg_advisory_unlock(hashtext(${TEMPLATE}))`
    }
  } finally {
    await admin.end()
  }
  // A clone carries the template's store id; each test database is a store of its own.
  const clone = postgres(withDatabase(TEST_SERVER_URL, name), { max: 1, onnotice: () => {} })
  try {
    await clone`update podline.store set id = gen_random_uuid()`
  } finally {
    await clone.end()
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

/** A fresh database of its own, opened: what most test files need. `close()` closes and drops it. */
export async function openFreshDatabase(
  prefix?: string,
  options: { poolSize?: number } = {},
): Promise<{ url: string; database: Database; close(): Promise<void> }> {
  const scratch = await freshDatabase(prefix)
  const database = await openDatabase({ ...options, databaseUrl: scratch.url })
  return {
    url: scratch.url,
    database,
    async close() {
      await database.close()
      await scratch.drop()
    },
  }
}
