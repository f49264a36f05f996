/**
 * The XCom sidecar's program, kept in one place so the pod builder, the tests and the sidecar image
 * (infra/images/sidecar/podline-sidecar.sh, which must print byte-for-byte the same frames) agree.
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
 * Reads the result path from `PODLINE_XCOM_PATH` (default `/airflow/xcom/return.json`).
 * SIGTERM (native sidecars are terminated once the main containers exit) or SIGINT (compat mode,
 * sent through exec as Airflow does) prints the frame and exits 0. The sleep runs in the background
 * so the trap fires at once instead of after the sleep.
 */
export const SIDECAR_SCRIPT = `set -u
file="\${PODLINE_XCOM_PATH:-/airflow/xcom/return.json}"
pid_file="\${${PID_FILE_ENV}:-$(dirname "$file")/${SIDECAR_PID_FILE}}"
sleeper=''
finish() {
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  if [ -f "$file" ]; then
    size=$(($(wc -c <"$file")))
    sum=$(sha256sum "$file" | cut -d ' ' -f 1)
    printf '${FRAME_BEGIN} ${FRAME_VERSION} %s %s\\n' "$size" "$sum"
    base64 "$file"
    printf '${FRAME_END}\\n'
  else
    printf '${FRAME_NONE}\\n'
  fi
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
