#!/bin/sh
# Podline XCom sidecar: hands the base container's result back to the runner through stdout.
# GENERATED from packages/runner/src/pods/sidecar-script.ts (the contract is described there);
# do not edit: change that file and run `npx tsx infra/images/sidecar/generate.ts`.
set -u
file="${PODLINE_XCOM_PATH:-/airflow/xcom/return.json}"
pid_file="${PODLINE_SIDECAR_PID_FILE:-$(dirname "$file")/.sidecar.pid}"
message="${PODLINE_TERMINATION_MESSAGE_PATH:-/dev/termination-log}"
sleeper=''
upload() {
  if ! command -v curl >/dev/null 2>&1; then
    printf 'PODLINE-XCOM-ERROR the result is %s bytes, over the %s bytes a log frame carries, and this sidecar image has no curl to upload it to the XCom store: use the Podline sidecar image (infra/images/sidecar, through PODLINE_SIDECAR_IMAGE or the task'"'"'s sidecar.image)\n' "$size" '1048576'
    return
  fi
  if out=$(curl --silent --show-error --fail --retry 3 --upload-file "$file" "$PODLINE_XCOM_UPLOAD_URL" 2>&1 >/dev/null); then
    printf 'PODLINE-XCOM-STORED v1 %s %s\n' "$size" "$sum"
  else
    printf 'PODLINE-XCOM-ERROR uploading the result (%s bytes) to the XCom store failed: %s\n' "$size" "$(printf '%s' "$out" | tr '\n' ' ')"
  fi
}
frame() {
  if [ -f "$file" ]; then
    size=$(($(wc -c <"$file")))
    sum=$(sha256sum "$file" | cut -d ' ' -f 1)
    if [ -n "${PODLINE_XCOM_UPLOAD_URL:-}" ] && [ "$size" -gt 1048576 ]; then
      upload
      return
    fi
    printf 'PODLINE-XCOM-BEGIN v1 %s %s\n' "$size" "$sum"
    base64 "$file"
    printf 'PODLINE-XCOM-END\n'
  else
    printf 'PODLINE-XCOM-NONE\n'
  fi
}
finish() {
  [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
  frame | tee "$message" 2>/dev/null
  exit 0
}
trap finish TERM INT
printf '%s\n' "$$" >"$pid_file"
while :; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper"
done
