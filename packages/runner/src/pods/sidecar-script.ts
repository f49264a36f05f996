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

/**
 * Reads the result path from `PODLINE_XCOM_PATH` (default `/airflow/xcom/return.json`).
 * SIGTERM (native sidecars are terminated once the main containers exit) prints the frame and exits 0;
 * SIGINT (compat mode, sent through exec as Airflow does) exits 0 without printing. The sleep runs in
 * the background so the trap fires at once instead of after the sleep.
 */
export const SIDECAR_SCRIPT = `set -u
file="\${PODLINE_XCOM_PATH:-/airflow/xcom/return.json}"
dir=$(dirname "$file")
sleeper=
stop() { [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null; }
emit() {
  stop
  if [ -f "$file" ]; then
    size=$(wc -c < "$file" | tr -d ' ')
    sum=$(sha256sum "$file" | cut -d ' ' -f 1)
    echo "${FRAME_BEGIN} ${FRAME_VERSION} $size $sum"
    base64 "$file"
    echo "${FRAME_END}"
  else
    echo "${FRAME_NONE}"
  fi
  exit 0
}
trap emit TERM
trap 'stop; exit 0' INT
mkdir -p "$dir"
echo $$ > "$dir/${SIDECAR_PID_FILE}"
while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper"
done
`
