#!/usr/bin/env bash
# `npm run bench:cluster`: builds what is missing, starts the local cluster
# (up.sh), runs the pod benchmark side by side on the Kubernetes double and on
# the cluster (bench/src/pod-cluster-main.ts) and stops the cluster again
# (down.sh), also when the benchmark fails or is interrupted.
# Arguments go to the benchmark: [pods (200)] [pod concurrency (50)].
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"
cd "$REPO_ROOT"

[[ $EUID -eq 0 ]] || die "run as root (the cluster runs containers)"
# shellcheck disable=SC2317 # run by the trap
teardown() {
  local status=$?
  "$here/down.sh" || status=1
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# The benchmark's worker is the built CLI.
[[ -f apps/cli/dist/main.js ]] || npm run build
"$here/build.sh" >/dev/null
kubeconfig="$("$here/up.sh" | tail -1)"
psql "${PODLINE_CLUSTER_PG_URL:-postgres://postgres@127.0.0.1:5432}/postgres" -qAtc 'select 1' >/dev/null ||
  die "no PostgreSQL at 127.0.0.1:5432 (bash scripts/services.sh starts one)"

PODLINE_BENCH_KUBECONFIG="$kubeconfig" PODLINE_BENCH_POD_IMAGE=podline.local/shell:1 \
  npx tsx bench/src/pod-cluster-main.ts "$@"
