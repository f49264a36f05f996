import { execFileSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const K8S_DIR = join(REPO_ROOT, 'infra', 'k8s')

/** Where the manifests run task pods: apart from the workers and the database Secret. */
export const TASK_NAMESPACE = 'podline-tasks'

/** Every kustomization that must render: the base alone and each overlay. */
export const KUSTOMIZATIONS = ['base', 'overlays/dev', 'overlays/keda', 'overlays/compat-exec'] as const
export type Kustomization = (typeof KUSTOMIZATIONS)[number]

/** True when a program answers on the PATH (checks that need it skip with a reason otherwise). */
export function hasProgram(program: string, versionArgs: string[] = ['--version']): boolean {
  try {
    execFileSync(program, versionArgs, { stdio: 'ignore', timeout: 10_000 })
    return true
  } catch {
    return false
  }
}
