#!/usr/bin/env bash
# Runs infra/kind/e2e against the cluster infra/kind/up.sh made: the pod scenarios through runLocal,
# and local `podline worker` processes sharing the cluster's PostgreSQL (port-forwarded).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require kind kubectl node npx
cd "$REPO_ROOT"
cluster_exists || {
  echo "error: no kind cluster named ${CLUSTER_NAME}; run infra/kind/up.sh first" >&2
  exit 1
}

work="$(mktemp -d)"
forward_pid=''
cleanup() {
  [[ -n "$forward_pid" ]] && kill "$forward_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

kind get kubeconfig --name "$CLUSTER_NAME" >"$work/kubeconfig"

# The suite's workers run here, so they reach the database through a port-forward.
port="${PODLINE_E2E_DB_PORT:-15432}"
kubectl --kubeconfig "$work/kubeconfig" --context "$KUBE_CONTEXT" -n "$NAMESPACE" \
  port-forward svc/postgres "${port}:5432" >"$work/port-forward.log" 2>&1 &
forward_pid=$!
for _ in $(seq 1 50); do
  grep -q 'Forwarding from' "$work/port-forward.log" && break
  kill -0 "$forward_pid" 2>/dev/null || break
  sleep 0.2
done
grep -q 'Forwarding from' "$work/port-forward.log" || {
  cat "$work/port-forward.log" >&2
  echo "error: could not port-forward svc/postgres (is infra/kind/up.sh done?)" >&2
  exit 1
}
password="$(kubectl --kubeconfig "$work/kubeconfig" --context "$KUBE_CONTEXT" -n "$NAMESPACE" \
  get secret podline-db -o jsonpath='{.data.password}' | base64 -d)"

# The CLI the suite spawns is the built one.
[[ -f apps/cli/dist/main.js ]] || npm run build

export PODLINE_E2E_KUBECONFIG="$work/kubeconfig"
export PODLINE_E2E_CONTEXT="$KUBE_CONTEXT"
export PODLINE_E2E_DATABASE_URL="postgres://podline:${password}@127.0.0.1:${port}/podline?sslmode=disable"
export PODLINE_E2E_SIDECAR_IMAGE=podline-sidecar:dev
# Task pods run the image up.sh preloaded; the suite's defaults name infra/cluster's local images.
export PODLINE_E2E_SHELL_IMAGE=alpine:3.20
export PODLINE_E2E_ABSENT_IMAGE=registry.invalid/podline/no-such-image:0
# A cluster that does not answer is a failure here, not a reason to skip.
export PODLINE_E2E_REQUIRED=1
npx vitest run infra/kind/e2e "$@"
