#!/bin/sh
# Podline XCom sidecar: hands the base container's result back to the runner through stdout.
# GENERATED from packages/runner/src/pods/sidecar-script.ts (the contract is described there);
# do not edit: change that file and run `npx tsx infra/images/sidecar/generate.ts`.
set -u
file="${PODLINE_XCOM_PATH:-/airflow/xcom/return.json}"
pid_file="${PODLINE_SIDECAR_PID_FILE:-$(dirname "$file")/.sidecar.pid}"
message="${PODLINE_TERMINATION_MESSAGE_PATH:-/dev/termination-log}"
sleeper=''
frame() {
  if [ -f "$file" ]; then
    size=$(($(wc -c <"$file")))
    sum=$(sha256sum "$file" | cut -d ' ' -f 1)
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
