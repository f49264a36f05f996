#!/usr/bin/env bash
# Starts a one-node Kubernetes cluster on this machine, built from source
# (infra/cluster/build.sh) and running as plain processes: etcd, the API
# server, controller-manager, scheduler, containerd + runc and the kubelet.
# Everything it writes lives under ${PODLINE_CLUSTER_STATE:-/var/lib/podline-cluster};
# infra/cluster/down.sh removes it all again.
#
# Traffic stays on this machine: every component listens on 127.0.0.1, the
# node's address is 127.0.0.1, and pods sit on a bridge of their own with no
# route off it (no gateway, no masquerade). Image pulls go to a proxy on
# 127.0.0.1:1 that does not exist, so a missing image fails at once with
# ErrImagePull instead of reaching for a registry.
#
# Needs root (containers, mounts, network namespaces). The admin kubeconfig's
# path is the last line of standard output; progress goes to standard error.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root: the kubelet and containerd manage containers, mounts and network namespaces"
start=$SECONDS

if cluster_running; then
  log "the cluster is already running (infra/cluster/down.sh stops it)"
  echo "$STATE/admin.kubeconfig"
  exit 0
fi
# Leftovers of a cluster that died without down.sh would collide with a new one.
[[ -e "$STATE" ]] && "$here/down.sh" >&2

"$here/install-deps.sh"
bin="$("$here/build.sh" | tail -1)"
export PATH="$bin:$PATH"
# The worker image packs the built project, so it comes only once there is one.
images=(shell pause)
if [[ -f "$REPO_ROOT/apps/worker/dist/main.js" ]]; then
  images+=(worker)
else
  log "the project is not built (npm run build): no podline.local/worker:dev image"
fi
# The Python image copies pydantic from .venv (scripts/python-env.sh).
if [[ -d "$REPO_ROOT/.venv/lib/python3.11/site-packages/pydantic_core" ]]; then
  images+=(python)
else
  log "no .venv with pydantic (bash scripts/python-env.sh): no podline.local/python:1 image"
fi
built="$("$REPO_ROOT/infra/images/local/build.sh" "${images[@]}")"
mapfile -t archives <<<"$built"

for port in "$APISERVER_PORT" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" 10250 10248 10257 10259; do
  port_free "$port" || die "127.0.0.1:$port is in use; is another cluster running?"
done

# A start that fails half way stops what it started; the logs stay behind.
on_exit() {
  local status=$?
  if ((status)); then
    log "start failed: stopping what was started (the logs are kept in $CLUSTER_CACHE/last-logs)"
    "$here/down.sh" >&2
  fi
}
trap on_exit EXIT

mkdir -p "$STATE"/{pki,logs,run,etcd,containerd,cni/net.d,kubelet,pod-logs}
chmod 700 "$STATE"

pki="$STATE/pki"
"$here/certs.sh" "$pki"
"$here/kubeconfigs.sh"

# --- etcd ------------------------------------------------------------------
# Plain HTTP on loopback: only processes of this machine can reach it, and
# the API server is its only client.
start_daemon etcd etcd \
  --name podline --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "podline=http://127.0.0.1:$ETCD_PEER_PORT" \
  --listen-metrics-urls "" \
  --log-level warn
wait_until "etcd to answer" 30 curl -fsS "http://127.0.0.1:$ETCD_CLIENT_PORT/health"

# --- kube-apiserver ----------------------------------------------------------
# lib.sh holds its flags: restart-apiserver.sh starts it the same way.
start_apiserver
wait_until "the API server to be ready" 90 kubectl --kubeconfig "$STATE/admin.kubeconfig" get --raw /readyz

# --- controller-manager and scheduler ----------------------------------------
# One replica each: no leader election. The service-account controllers mint
# tokens with the same key the API server verifies.
start_daemon kube-controller-manager kube-controller-manager \
  --kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 10257 \
  --leader-elect=false \
  --use-service-account-credentials \
  --service-account-private-key-file "$pki/sa.key" \
  --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --profiling=false
start_daemon kube-scheduler kube-scheduler \
  --kubeconfig "$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 10259 \
  --leader-elect=false \
  --profiling=false

# --- pod network -------------------------------------------------------------
# A bridge with no gateway (so the bridge plugin leaves ip_forward alone), no
# masquerade, no default route in the pod: pods reach each other, and the
# host only at two addresses of the bridge, each served by a relay to a
# loopback port (nothing is routed or NATed):
#   $APISERVER_SERVICE_IP:443  the API server, at the "kubernetes" Service's
#                              ClusterIP: in-cluster clients (the worker
#                              Deployment) use it as on any cluster;
#   $HOST_BRIDGE_IP:5432     the host's PostgreSQL, for the worker Deployment
#                              and its migration Job.
# The bridge is made here so that the relays can listen before any pod runs;
# the bridge plugin takes it as it is.
#
# With an address of its own. A bridge without one takes the lowest address of
# its ports, so it changed each time a pod's veth came or went (every task pod),
# while the pods still sent to 10.88.0.1 at the address they had resolved: to a
# port that was gone. Their traffic to the relays and their answers to the
# kubelet's probes vanished until their ARP entry for 10.88.0.1 was resolved
# again, up to a minute: long enough for a worker replica's lease to lapse (its
# inline task taken over and run again) and for its liveness probe to restart
# it. The bridge plugin pins the address only when it makes the bridge the
# pods' gateway, which this network does not (isGateway: false).
ip link add "$BRIDGE" address "$BRIDGE_MAC" type bridge
[[ "$(cat "/sys/class/net/$BRIDGE/address")" == "$BRIDGE_MAC" ]] ||
  die "the bridge $BRIDGE did not take the address $BRIDGE_MAC"
ip addr add "$HOST_BRIDGE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
ip addr add "$APISERVER_SERVICE_IP/32" dev "$BRIDGE"
ip link set "$BRIDGE" up
start_relay apiserver-relay "$APISERVER_SERVICE_IP:443" "$APISERVER_PORT"
start_relay postgres-relay "$HOST_BRIDGE_IP:5432" 5432
cat >"$STATE/cni/net.d/10-podline.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "podline",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": false,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_CIDR", "rangeStart": "${HOST_BRIDGE_IP%.*}.2", "gateway": "$HOST_BRIDGE_IP" }]],
        "routes": [{ "dst": "$SERVICE_CIDR", "gw": "$HOST_BRIDGE_IP" }],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF

# --- containerd --------------------------------------------------------------
"$here/containerd-config.sh" >"$STATE/containerd/config.toml"
# Any registry a pull names is reached through this proxy, which does not
# exist: pulls fail at once and no name is even looked up in DNS.
HTTPS_PROXY=http://127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1 NO_PROXY='' \
  start_daemon containerd containerd --config "$STATE/containerd/config.toml"
ctr_() { ctr --address "$STATE/containerd/containerd.sock" --namespace k8s.io "$@"; }
wait_until "containerd to answer" 30 ctr_ version
# Each archive carries its full name (podline.local/...), which the import keeps.
for archive in "${archives[@]}"; do
  ctr_ images import "$archive" >/dev/null
done
# The listing is read whole first: under pipefail, `ctr … | grep -q` fails
# whenever grep's early exit cuts ctr off with SIGPIPE.
imported="$(ctr_ images ls -q)"
for image in podline.local/shell:1 podline.local/pause:1; do
  grep -qxF "$image" <<<"$imported" || die "image $image did not import"
done

# --- kubelet -----------------------------------------------------------------
"$here/kubelet-config.sh" >"$STATE/kubelet/config.yaml"
# --hostname-override with an IP: the node is named 127.0.0.1 and that is its
# address. The kubelet takes an IP given this way as is, whereas --node-ip
# refuses a loopback address.
start_daemon kubelet kubelet \
  --config "$STATE/kubelet/config.yaml" \
  --kubeconfig "$STATE/kubelet.kubeconfig" \
  --root-dir "$STATE/kubelet" \
  --cert-dir "$STATE/pki" \
  --hostname-override "$NODE_NAME" \
  --v 1
wait_until "node $NODE_NAME to register" 60 kubectl --kubeconfig "$STATE/admin.kubeconfig" get node "$NODE_NAME"
kubectl --kubeconfig "$STATE/admin.kubeconfig" wait node "$NODE_NAME" --for condition=Ready --timeout 120s >&2

# --- Podline's namespaces and RBAC -------------------------------------------
# The parts of infra/k8s/base a worker's identity needs (not the worker
# Deployment or the migration Job): the suite acts as the worker
# ServiceAccount with exactly the Role's permissions.
base="$REPO_ROOT/infra/k8s/base"
k() { kubectl --kubeconfig "$STATE/admin.kubeconfig" "$@"; }
k apply -f "$base/namespace.yaml" -f "$base/tasks-namespace.yaml" -f "$base/role.yaml" -f "$base/rolebinding.yaml" >&2
k apply -n podline -f "$base/serviceaccount.yaml" >&2
wait_until "the default ServiceAccount of podline-tasks" 30 k -n podline-tasks get serviceaccount default

log "cluster up in $((SECONDS - start))s: kubectl --kubeconfig $STATE/admin.kubeconfig get pods -A"
echo "$STATE/admin.kubeconfig"
