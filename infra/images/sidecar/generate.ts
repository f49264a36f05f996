// Writes infra/images/sidecar/podline-sidecar.sh from the runner's one copy of the sidecar script.
// Run from anywhere: npx tsx infra/images/sidecar/generate.ts
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  SIDECAR_IMAGE_SCRIPT_PATH,
  sidecarImageScript,
} from '../../../packages/runner/src/pods/sidecar-script.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
writeFileSync(join(root, SIDECAR_IMAGE_SCRIPT_PATH), sidecarImageScript(), { mode: 0o755 })
console.log(`wrote ${SIDECAR_IMAGE_SCRIPT_PATH}`)
