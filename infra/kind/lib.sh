# Shared by up.sh, e2e.sh and down.sh (sourced, not run).
# shellcheck shell=bash

CLUSTER_NAME="${PODLINE_KIND_CLUSTER:-podline}"
KUBE_CONTEXT="kind-${CLUSTER_NAME}"
NAMESPACE=podline
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Fails with one line naming every missing program, before anything has been changed.
require() {
  local missing=()
  local program
  for program in "$@"; do
    command -v "$program" >/dev/null 2>&1 || missing+=("$program")
  done
  if ((${#missing[@]})); then
    echo "error: missing prerequisite(s): ${missing[*]} (install them and put them on the PATH)" >&2
    exit 1
  fi
}

cluster_exists() {
  kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"
}

step() {
  echo "==> $*"
}
