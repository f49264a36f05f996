#!/usr/bin/env bash
# Restarts the running cluster's kube-apiserver: SIGTERM, which closes its
# port and every watch and log stream at once (SIGKILL 5 s later: it can sit
# on in-flight requests for a minute), then the same server started again by
# lib.sh's start_apiserver, on the same etcd. Returns once it is ready again;
# the last line on standard output is how many seconds it was away.
#
#   restart-apiserver.sh [--down SECONDS]
#
# --down keeps it stopped that long before starting it again: a slow restart,
# as a managed control plane's upgrade is. The cluster suite's API server
# scenario runs it (PODLINE_E2E_RESTART_APISERVER, set by test.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"

down=0
case "${1:-}" in
  --down) down="${2:?--down needs a number of seconds}" ;;
  "") ;;
  *) die "usage: restart-apiserver.sh [--down SECONDS]" ;;
esac
[[ "$down" =~ ^[0-9]+$ ]] || die "--down takes whole seconds, not $down"
[[ $EUID -eq 0 ]] || die "run as root"
daemon_pid kube-apiserver >/dev/null || die "no kube-apiserver of this cluster is running (infra/cluster/up.sh starts one)"
bin="$(cluster_bin_dir)"
export PATH="$bin:$PATH"
start=$SECONDS

stop_daemon kube-apiserver 5
# Gone on purpose: wait_until must not take it for a daemon that died.
rm -f "$STATE/run/kube-apiserver.pid"
wait_until "127.0.0.1:$APISERVER_PORT to be released" 30 port_free "$APISERVER_PORT"
if ((down > 0)); then
  log "keeping kube-apiserver down for ${down}s"
  sleep "$down"
fi
start_apiserver
wait_until "the API server to be ready again" 120 kubectl --kubeconfig "$STATE/admin.kubeconfig" get --raw /readyz
log "kube-apiserver restarted in $((SECONDS - start))s"
echo "$((SECONDS - start))"
