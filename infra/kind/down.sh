#!/usr/bin/env bash
# Deletes the kind cluster infra/kind/up.sh made, with everything in it (PostgreSQL's data too).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require kind
if cluster_exists; then
  kind delete cluster --name "$CLUSTER_NAME"
else
  echo "no kind cluster named ${CLUSTER_NAME}; nothing to delete"
fi
