#!/usr/bin/env bash
# From nothing to Podline on a local kind cluster: the cluster, both images, PostgreSQL, the
# migrations, two workers. Safe to run again: it reuses the cluster and reruns the migrations.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require docker kind kubectl
docker info >/dev/null 2>&1 || {
  echo "error: docker is installed but its engine does not answer (start Docker)" >&2
  exit 1
}
cd "$REPO_ROOT"

if cluster_exists; then
  step "reusing kind cluster ${CLUSTER_NAME}"
else
  step "creating kind cluster ${CLUSTER_NAME}"
  kind create cluster --name "$CLUSTER_NAME" --config infra/kind/cluster.yaml --wait 120s
fi
kubectl config use-context "$KUBE_CONTEXT" >/dev/null
k() { kubectl --context "$KUBE_CONTEXT" "$@"; }

step "building images podline-worker:dev and podline-sidecar:dev"
docker build -f infra/images/worker/Dockerfile -t podline-worker:dev .
docker build -f infra/images/sidecar/Dockerfile -t podline-sidecar:dev .
# alpine:3.20 is the runner's default sidecar image and what the e2e pods run: preloading it spares
# every node a registry pull (and its rate limit).
docker image inspect alpine:3.20 >/dev/null 2>&1 || docker pull alpine:3.20
step "loading images into the cluster"
kind load docker-image --name "$CLUSTER_NAME" podline-worker:dev podline-sidecar:dev alpine:3.20

step "applying infra/k8s/overlays/dev (without the migration Job)"
# Job templates are immutable: the previous run's Job goes before a new one is applied.
k -n "$NAMESPACE" delete job podline-migrate --ignore-not-found
k apply -k infra/k8s/overlays/dev -l 'app.kubernetes.io/component!=migration'

step "waiting for PostgreSQL"
k -n "$NAMESPACE" rollout status statefulset/postgres --timeout=180s

step "running the migrations"
k apply -k infra/k8s/overlays/dev -l 'app.kubernetes.io/component=migration'
if ! k -n "$NAMESPACE" wait --for=condition=complete job/podline-migrate --timeout=180s; then
  k -n "$NAMESPACE" logs job/podline-migrate --tail=50 >&2 || true
  echo "error: the migration Job did not complete (its log is above)" >&2
  exit 1
fi

step "waiting for the workers"
# Restarted so they pick up a rebuilt image under the same :dev tag.
k -n "$NAMESPACE" rollout restart deployment/podline-worker
k -n "$NAMESPACE" rollout status deployment/podline-worker --timeout=180s

step "ready: kubectl --context ${KUBE_CONTEXT} -n ${NAMESPACE} get pods; run infra/kind/e2e.sh next"
