#!/bin/sh
# Podline XCom sidecar: hands the base container's result back to the runner through stdout.
#
# Contract (the runner builds the same script inline for the default alpine image; the output must
# stay byte-identical for the same file):
#   - on start, write this shell's PID to .sidecar.pid beside the result, /airflow/xcom/.sidecar.pid by
#     default (exec mode signals that PID);
#   - wait;
#   - on SIGTERM (native sidecar: the kubelet stops it once `base` has exited) or SIGINT (exec mode:
#     the runner runs `kill -INT` through the exec API), print exactly one frame and exit 0:
#       PODLINE-XCOM-BEGIN v1 <byte-length> <sha256-hex>
#       <the file, base64, wrapped at 76 columns as busybox and coreutils both do>
#       PODLINE-XCOM-END
#     or the single line PODLINE-XCOM-NONE when the file does not exist.
# The length and checksum let the runner tell a complete value from a log line lost mid-stream.
# POSIX sh only: it runs under busybox (alpine) and dash alike.
set -u

xcom_path="${PODLINE_XCOM_PATH:-/airflow/xcom/return.json}"
pid_file="${PODLINE_SIDECAR_PID_FILE:-$(dirname "$xcom_path")/.sidecar.pid}"
sleeper=''

emit() {
  if [ -f "$xcom_path" ]; then
    # `wc -c <` prints the size alone (busybox pads it with spaces, hence the arithmetic).
    size=$(($(wc -c <"$xcom_path")))
    sum=$(sha256sum "$xcom_path" | cut -d ' ' -f 1)
    printf 'PODLINE-XCOM-BEGIN v1 %s %s\n' "$size" "$sum"
    base64 "$xcom_path"
    printf 'PODLINE-XCOM-END\n'
  else
    printf 'PODLINE-XCOM-NONE\n'
  fi
}

finish() {
  # The pending `sleep` would otherwise outlive us when this script is not PID 1.
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  emit
  exit 0
}

trap finish TERM INT
printf '%s\n' "$$" >"$pid_file"

# A builtin `wait` on a background sleep is interrupted by a trapped signal at once; a foreground
# `sleep` would delay the trap until it returned.
while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper"
done
