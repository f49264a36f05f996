# Shared by the scripts in infra/cluster (sourced, not run).
# shellcheck shell=bash
# shellcheck disable=SC2034 # the settings are read by the scripts that source this

CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_DIR/../.." && pwd)"
# Built binaries and images live outside git and survive `down.sh`, so a
# second start costs nothing; everything a running cluster writes lives in
# the state folder, which `down.sh` removes.
CLUSTER_CACHE="${PODLINE_CLUSTER_CACHE:-/var/cache/podline-cluster}"
STATE="${PODLINE_CLUSTER_STATE:-/var/lib/podline-cluster}"
# The cluster's own network device; the bridge plugin creates it and down.sh
# deletes it. A name of our own avoids touching a cni0 someone else made.
BRIDGE=podline0
# The bridge's own MAC address (locally administered), fixed for its lifetime:
# see up.sh.
BRIDGE_MAC=02:70:64:6c:00:01
POD_CIDR=10.88.0.0/16
SERVICE_CIDR=10.96.0.0/16
# The host's address on the bridge, and the "kubernetes" Service's ClusterIP
# (the first of SERVICE_CIDR, which the API server's certificate names): the
# two addresses pods reach off the bridge, each through a relay (up.sh).
HOST_BRIDGE_IP=10.88.0.1
APISERVER_SERVICE_IP=10.96.0.1
APISERVER_PORT="${PODLINE_CLUSTER_APISERVER_PORT:-6443}"
ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
# The node is named after its address: see the kubelet's start in up.sh.
NODE_NAME=127.0.0.1
# In start order; down.sh stops them in reverse.
DAEMONS=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet)

log() { echo "==> $*" >&2; }
die() {
  echo "error: $*" >&2
  exit 1
}

cluster_k8s_version() {
  awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$CLUSTER_DIR/build/go.mod"
}

cluster_bin_dir() {
  echo "$CLUSTER_CACHE/$(cluster_k8s_version)/bin"
}

cluster_image_dir() {
  echo "$CLUSTER_CACHE/images"
}

# The pid a daemon was started with, if that process still runs the same program.
daemon_pid() {
  local name="$1" pid
  pid="$(cat "$STATE/run/$name.pid" 2>/dev/null)" || return 1
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  # argv[0], read without a pipeline (under pipefail, a reader that stops
  # early can fail one with SIGPIPE).
  local program=''
  IFS= read -r -d '' program <"/proc/$pid/cmdline" || [[ -n "$program" ]] || return 1
  [[ "$program" == "$name" || "$program" == */"$name" ]] || return 1
  echo "$pid"
}

# stop_daemon NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (10), for the
# pid start_daemon recorded; returns once the process is gone.
stop_daemon() {
  local pid
  pid="$(daemon_pid "$1")" || return 0
  log "stopping $1 ($pid)"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 $((${2:-10} * 10))); do
    [[ -d "/proc/$pid" ]] || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  while [[ -d "/proc/$pid" ]]; do sleep 0.1; done
}

cluster_running() {
  local name
  for name in "${DAEMONS[@]}"; do
    daemon_pid "$name" >/dev/null || return 1
  done
}

# The relays that let pods reach the host (up.sh starts them, down.sh stops
# them): each runs socat under a name of its own, which daemon_pid checks.
RELAYS=(apiserver-relay postgres-relay)

# start_relay NAME LISTEN_IP:PORT TARGET_PORT: forwards each connection to
# 127.0.0.1:TARGET_PORT, so the target sees a loopback client.
start_relay() {
  local name="$1" listen="$2" target="$3"
  start_daemon "$name" bash -c "exec -a $name socat TCP-LISTEN:${listen##*:},bind=${listen%:*},fork,reuseaddr TCP:127.0.0.1:$target"
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_daemon NAME PROGRAM ARGS...: runs PROGRAM in its own session (so it
# outlives this script and a Ctrl-C here), logging to $STATE/logs/NAME.log.
start_daemon() {
  local name="$1"
  shift
  log "starting $name"
  local program="$1" pid
  setsid "$@" >>"$STATE/logs/$name.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$STATE/run/$name.pid"
  # Until the child has exec'd, its command line is this shell's or setsid's,
  # and daemon_pid would take a daemon still starting for one that exited.
  local deadline=$((SECONDS + 10))
  while [[ -r "/proc/$pid/cmdline" ]] && ! daemon_pid "$name" >/dev/null; do
    ((SECONDS < deadline)) || die "$program did not start within 10 s (pid $pid)"
    sleep 0.05
  done
}

# wait_until WHAT SECONDS COMMAND...: polls COMMAND until it succeeds; fails
# with the daemons' last log lines once SECONDS pass or a daemon has exited.
wait_until() {
  local what="$1" limit="$2" name
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    for name in "${DAEMONS[@]}"; do
      if [[ -f "$STATE/run/$name.pid" ]] && ! daemon_pid "$name" >/dev/null; then
        tail -n 30 "$STATE/logs/$name.log" >&2
        die "$name exited while waiting for $what (log: $STATE/logs/$name.log)"
      fi
    done
    if ((SECONDS >= deadline)); then
      for name in "${DAEMONS[@]}"; do
        [[ -f "$STATE/logs/$name.log" ]] && { echo "--- $name" >&2; tail -n 10 "$STATE/logs/$name.log" >&2; }
      done
      die "timed out after ${limit}s waiting for $what"
    fi
    sleep 0.5
  done
}

# start_apiserver: starts kube-apiserver on the running etcd (up.sh, and
# restart-apiserver.sh, which must bring back the very same server).
# Admission: the plugins a managed cluster turns on, named so they stay on
# whatever the version's defaults are. The "kubernetes" Service's endpoints
# are not reconciled: its address would be 127.0.0.1, which Endpoints refuse,
# and nothing here routes Service IPs (no kube-proxy); pods that talk to the
# API server use the host network.
start_apiserver() {
  local pki="$STATE/pki"
  start_daemon kube-apiserver kube-apiserver \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --endpoint-reconciler-type none \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction,PodSecurity,ResourceQuota,LimitRanger,ServiceAccount,DefaultStorageClass \
    --client-ca-file "$pki/ca.crt" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" \
    --profiling=false
}
