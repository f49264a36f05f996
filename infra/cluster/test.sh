#!/usr/bin/env bash
# `npm run test:cluster`: builds what is missing, starts the local cluster
# (up.sh), runs the cluster suite (infra/kind/e2e) against it and stops the
# cluster again (down.sh), also when the suite fails or is interrupted.
# Extra arguments go to vitest (e.g. -t 'XCom').
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

[[ $EUID -eq 0 ]] || die "run as root (the cluster runs containers)"
work="$(mktemp -d)"
# shellcheck disable=SC2317 # run by the trap
teardown() {
  local status=$?
  "$here/down.sh" || status=1
  rm -rf "$work"
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# The suite runs the sources; the worker scenarios spawn the built CLI, and
# the worker image packs the built project.
[[ -f apps/cli/dist/main.js && -f apps/worker/dist/main.js ]] || npm run build

t0=$SECONDS
"$here/build.sh" >/dev/null
t_build=$((SECONDS - t0))
kubeconfig="$("$here/up.sh" | tail -1)"
t_up=$((SECONDS - t0 - t_build))

export PODLINE_E2E_KUBECONFIG="$kubeconfig"
export PODLINE_E2E_REQUIRED=1
export PODLINE_E2E_SHELL_IMAGE=podline.local/shell:1
export PODLINE_E2E_ABSENT_IMAGE=podline.local/absent:1
# up.sh imports it when .venv has pydantic; the Python scenario skips when the node lacks it.
export PODLINE_E2E_PYTHON_IMAGE=podline.local/python:1
# Pods reach this machine at its address on the pod bridge: the large-result
# scenario serves its S3 store there, for the worker and the pods' presigned
# uploads alike.
export PODLINE_E2E_HOST_ADDRESS="$HOST_BRIDGE_IP"
# The worker Deployment scenario applies the shipped manifests through this
# cluster's overlay, with the kubectl of the cluster's release.
export PODLINE_E2E_DEPLOYMENT_OVERLAY="$here/overlay"
PODLINE_E2E_KUBECTL="$(cluster_bin_dir)/kubectl"
export PODLINE_E2E_KUBECTL
# The worker scenarios share a database: a fresh one on the local PostgreSQL
# (scripts/services.sh starts it). Without one they are skipped, with the reason.
pg_url="${PODLINE_CLUSTER_PG_URL:-postgres://postgres@127.0.0.1:5432}"
# The worker Deployment gets a database of its own (its queue is not the local
# workers'): the one overlay/kustomization.yaml names, which pods reach through
# the relay on the bridge address (up.sh), and so does this machine.
if psql "$pg_url/postgres" -qAtc 'select 1' >/dev/null 2>&1; then
  for db in podline_cluster_e2e podline_cluster_e2e_deployment; do
    psql "$pg_url/postgres" -qc "drop database if exists $db with (force)" -c "create database $db" >/dev/null
  done
  export PODLINE_E2E_DATABASE_URL="$pg_url/podline_cluster_e2e"
  export PODLINE_E2E_IN_CLUSTER_DATABASE_URL="postgres://postgres@$HOST_BRIDGE_IP:5432/podline_cluster_e2e_deployment"
else
  log "no PostgreSQL at $pg_url: the worker scenarios will be skipped"
fi

# The restart scenario (infra/kind/e2e/disruptive) stops the API server for
# half a minute: it runs after the rest of the suite, alone.
export PODLINE_E2E_RESTART_APISERVER="$here/restart-apiserver.sh --down 20"

t1=$SECONDS
status=0
npx vitest run --project system --reporter verbose --passWithNoTests \
  --exclude 'infra/kind/e2e/disruptive/**' infra/kind/e2e "$@" || status=$?
npx vitest run --project system --reporter verbose --passWithNoTests \
  infra/kind/e2e/disruptive "$@" || status=$?
log "build ${t_build}s, cluster start ${t_up}s, suite $((SECONDS - t1))s"
exit "$status"
