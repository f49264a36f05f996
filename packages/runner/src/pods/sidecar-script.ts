/**
 * The XCom sidecar's program, in one place: the pod builder runs it inline in the default image, and
 * the sidecar image's infra/images/sidecar/podline-sidecar.sh is generated from it (imageScript).
 *
 * Why a frame and not a bare `cat`: the value travels through the container log, which can be cut
 * short (log rotation, a killed sidecar, a dropped stream). The declared length and sha256 let the
 * runner tell a complete value from a truncated one instead of storing half a document.
 *
 * POSIX sh only (busybox's ash in alpine): `sha256sum`, `base64`, `wc` are in busybox and coreutils.
 */

/** First line of a frame: `PODLINE-XCOM-BEGIN v1 <byte-length> <sha256-hex>`. */
export const FRAME_BEGIN = 'PODLINE-XCOM-BEGIN'
export const FRAME_VERSION = 'v1'
export const FRAME_END = 'PODLINE-XCOM-END'
/** Printed instead of a frame when the base container wrote no result file. */
export const FRAME_NONE = 'PODLINE-XCOM-NONE'

/** Written by the sidecar next to the result, so compat mode can signal it with `kill -INT`. */
export const SIDECAR_PID_FILE = '.sidecar.pid'

/** Overrides where the sidecar writes its PID (the image's script reads the same variable). */
export const PID_FILE_ENV = 'PODLINE_SIDECAR_PID_FILE'

/**
 * The container's terminationMessagePath, where the sidecar also writes its frame: the kubelet puts
 * its first 4 KiB in the terminated state's `message`, which reaches the worker on the pod watch it
 * already holds, so a small result costs no log read. A larger one is cut there, fails the frame's
 * checks, and is read from the log.
 */
export const MESSAGE_PATH_ENV = 'PODLINE_TERMINATION_MESSAGE_PATH'
export const DEFAULT_MESSAGE_PATH = '/dev/termination-log'

/**
 * Reads the result path from `PODLINE_XCOM_PATH` (default `/airflow/xcom/return.json`).
 * SIGTERM (native sidecars are terminated once the main containers exit) or SIGINT (compat mode,
 * sent through exec as Airflow does) prints the frame and exits 0. The sleep runs in the background
 * so the trap fires at once instead of after the sleep (and is killed on exit, for when the script is
 * not PID 1). `wc -c <` prints the size alone; busybox pads it with spaces, hence the arithmetic.
 * The frame goes to stdout and, through `tee`, to the termination message file; a file that cannot
 * be written (not a pod, an older kubelet) leaves stdout alone.
 */
export const SIDECAR_SCRIPT = `set -u
file="\${PODLINE_XCOM_PATH:-/airflow/xcom/return.json}"
pid_file="\${${PID_FILE_ENV}:-$(dirname "$file")/${SIDECAR_PID_FILE}}"
message="\${${MESSAGE_PATH_ENV}:-${DEFAULT_MESSAGE_PATH}}"
sleeper=''
frame() {
  if [ -f "$file" ]; then
    size=$(($(wc -c <"$file")))
    sum=$(sha256sum "$file" | cut -d ' ' -f 1)
    printf '${FRAME_BEGIN} ${FRAME_VERSION} %s %s\\n' "$size" "$sum"
    base64 "$file"
    printf '${FRAME_END}\\n'
  else
    printf '${FRAME_NONE}\\n'
  fi
}
finish() {
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  frame | tee "$message" 2>/dev/null
  exit 0
}
trap finish TERM INT
printf '%s\\n' "$$" >"$pid_file"
while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper"
done
`

/** Where the sidecar image's copy is generated (from the repository root). */
export const SIDECAR_IMAGE_SCRIPT_PATH = 'infra/images/sidecar/podline-sidecar.sh'

/**
 * infra/images/sidecar/podline-sidecar.sh: SIDECAR_SCRIPT behind a shebang and a header, so the
 * image prints exactly the frames the runner parses. Written by infra/images/sidecar/generate.ts;
 * infra/checks fails when the file on disk is not what this returns.
 */
export function sidecarImageScript(): string {
  return `#!/bin/sh
# Podline XCom sidecar: hands the base container's result back to the runner through stdout.
# GENERATED from packages/runner/src/pods/sidecar-script.ts (the contract is described there);
# do not edit: change that file and run \`npx tsx infra/images/sidecar/generate.ts\`.
${SIDECAR_SCRIPT}`
}
