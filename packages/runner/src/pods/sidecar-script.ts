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

/**
 * After its result was uploaded to the XCom store: `PODLINE-XCOM-STORED v1 <byte-length> <sha256-hex>`,
 * what the worker checks the stored object against. The object's key is the one the worker minted.
 */
export const FRAME_STORED = 'PODLINE-XCOM-STORED'
/** `PODLINE-XCOM-ERROR <message>`: the sidecar could not hand the result over, and says why. */
export const FRAME_ERROR = 'PODLINE-XCOM-ERROR'

/**
 * The largest result the sidecar's log frame carries when the worker has an XCom store: a larger one
 * is uploaded to the store by the sidecar (base64 makes a frame 4/3 of the value, and the kubelet
 * rotates container logs at 10 MiB by default). Without a store every result goes through the frame,
 * up to the worker's xcomSizeLimitBytes.
 */
export const XCOM_FRAME_LIMIT_BYTES = 1024 * 1024

/** The presigned PUT the sidecar uploads a result over XCOM_FRAME_LIMIT_BYTES to (set with a store only). */
export const UPLOAD_URL_ENV = 'PODLINE_XCOM_UPLOAD_URL'

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
upload() {
  if ! command -v curl >/dev/null 2>&1; then
    printf '${FRAME_ERROR} the result is %s bytes, over the %s bytes a log frame carries, and this sidecar image has no curl to upload it to the XCom store: use the Podline sidecar image (infra/images/sidecar, through PODLINE_SIDECAR_IMAGE or the task'"'"'s sidecar.image)\\n' "$size" '${XCOM_FRAME_LIMIT_BYTES}'
    return
  fi
  if out=$(curl --silent --show-error --fail --retry 3 --upload-file "$file" "$${UPLOAD_URL_ENV}" 2>&1 >/dev/null); then
    printf '${FRAME_STORED} ${FRAME_VERSION} %s %s\\n' "$size" "$sum"
  else
    printf '${FRAME_ERROR} uploading the result (%s bytes) to the XCom store failed: %s\\n' "$size" "$(printf '%s' "$out" | tr '\\n' ' ')"
  fi
}
frame() {
  if [ -f "$file" ]; then
    size=$(($(wc -c <"$file")))
    sum=$(sha256sum "$file" | cut -d ' ' -f 1)
    if [ -n "\${${UPLOAD_URL_ENV}:-}" ] && [ "$size" -gt ${XCOM_FRAME_LIMIT_BYTES} ]; then
      upload
      return
    fi
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
