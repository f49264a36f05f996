import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { clusterOf, type Probe } from './cluster.js'
import { createNamespace, deleteNamespace } from './namespace.js'

/** A test file's own namespace on the cluster and folder for its embedded stores. */
export interface ScenarioPlace {
  readonly namespace: string
  readonly dataDir: string
}

/**
 * Registers, in the calling describe block, a fresh namespace (created before its tests, deleted
 * after) and a temporary data folder, so a file's scenarios never see another file's pods or runs.
 */
export function useScenarioNamespace(probe: Probe, prefix: string): ScenarioPlace {
  const dataDir = mkdtempSync(join(tmpdir(), `${prefix}-`))
  let namespace = ''
  beforeAll(async () => {
    namespace = await createNamespace(clusterOf(probe), prefix)
  })
  afterAll(async () => {
    if (namespace) await deleteNamespace(clusterOf(probe), namespace)
    rmSync(dataDir, { recursive: true, force: true })
  })
  return {
    get namespace() {
      return namespace
    },
    dataDir,
  }
}
