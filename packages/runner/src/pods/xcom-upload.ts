import { isDeepStrictEqual } from 'node:util'
import type { JsonValue } from '@podline/sdk'
import { TaskFailure } from '../engine/task-failure.js'
import type { TaskExecution } from '../executors/task-execution.js'
import { formatBytes } from '../format/format-bytes.js'
import type { ReportedUpload, StoredXCom } from '../xcom-store/pod-transfers.js'
import { XCOM_FRAME_LIMIT_BYTES } from './sidecar-script.js'
import type { SidecarSettings } from './xcom-sidecar.js'
import { decodeResultAsWritten, type ResultChecks } from './xcom-value.js'

/**
 * How a pod on Kubernetes hands over a result over the log frame's limit: the presigned PUT its
 * sidecar uploads to, or why it cannot (added to the size error of a result that is too large).
 */
export async function podUpload(
  exec: TaskExecution,
  sidecar: SidecarSettings,
): Promise<{ url?: string; hint?: string }> {
  if (!exec.xcoms) return {}
  const over = `a result over ${formatBytes(XCOM_FRAME_LIMIT_BYTES)} cannot go to the XCom store ${exec.xcoms.location}`
  if (sidecar.mode === 'exec')
    return {
      hint: `${over} in sidecar mode exec, which reads the result through exec: use the native sidecar`,
    }
  const target = await exec.xcoms.uploadTarget()
  if (target.kind === 'url') return { url: target.url }
  if (target.kind === 'path')
    return { hint: `${over}: it is a folder of the worker's, which a pod cannot reach; use an s3:// store` }
  return { hint: `${over}: ${target.reason}` }
}

/**
 * Checks what the sidecar reported it uploaded against the stored object; the value to record. A
 * task with an output schema has the value read back and validated (it costs the value's size in
 * memory). The stored object is recorded as it is when the schema returns the value unchanged; only
 * a value the schema changed (defaults, transforms, stripped keys) is handed back for the worker to
 * store as any output, the pod's object then left to the collection of unreferenced objects.
 */
export async function acceptStored(
  exec: TaskExecution,
  frame: ReportedUpload,
  checks: ResultChecks,
): Promise<StoredXCom | JsonValue | undefined> {
  if (!exec.xcoms) {
    throw new TaskFailure(
      `the XCom sidecar of pod task "${checks.task}" reported a result in the XCom store, but this worker has none`,
      'fatal',
    )
  }
  const stored = await exec.xcoms.accept(frame, checks.task)
  if (checks.output === undefined) return stored
  const { value, written } = await decodeResultAsWritten(await exec.xcoms.read(stored), {
    ...checks,
    sizeLimitBytes: exec.xcoms.limitBytes,
  })
  // Handing back an unchanged value would store it twice: the worker offloads what it is handed.
  return isDeepStrictEqual(value, written) ? stored : value
}
