#!/usr/bin/env bash
# Stops the cluster infra/cluster/up.sh started and removes what it left:
# its processes (daemons, container shims, containers), mounts under the
# state folder (the pods' network namespaces among them), the bridge and its veths, the
# kubelet's cgroups, and the state folder itself. Built binaries and images
# stay in the cache. Safe to run when nothing is running.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"

[[ $EUID -eq 0 ]] || die "run as root"
bin="$(cluster_bin_dir)"
export PATH="$bin:$PATH"
sock="$STATE/containerd/containerd.sock"
ctr_() { ctr --address "$sock" --namespace k8s.io "$@"; }

# Pods first, while the kubelet runs: it stops their containers and tears
# their sandboxes down through CNI, which frees veths and network namespaces
# the clean way.
if daemon_pid kubelet >/dev/null && daemon_pid kube-apiserver >/dev/null; then
  log "deleting all pods"
  kubectl --kubeconfig "$STATE/admin.kubeconfig" delete pods --all --all-namespaces \
    --grace-period 0 --force --wait=false >/dev/null 2>&1
  deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)) && [[ -n "$(ctr_ tasks ls -q 2>/dev/null)" ]]; do sleep 0.5; done
fi
stop_daemon kubelet

# Whatever the kubelet did not get to: kill the tasks and delete the containers.
if daemon_pid containerd >/dev/null; then
  for id in $(ctr_ tasks ls -q 2>/dev/null); do
    ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1
  done
  for id in $(ctr_ tasks ls -q 2>/dev/null); do
    ctr_ tasks delete --force "$id" >/dev/null 2>&1
  done
  for id in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ containers delete "$id" >/dev/null 2>&1
  done
fi
stop_daemon containerd
for name in kube-scheduler kube-controller-manager kube-apiserver etcd "${RELAYS[@]}"; do stop_daemon "$name"; done

# Shims outlive containerd by design; ours name our containerd's socket.
for cmdline in /proc/[0-9]*/cmdline; do
  pid="${cmdline#/proc/}" pid="${pid%/cmdline}"
  args="$(tr '\0' ' ' 2>/dev/null <"$cmdline")" || continue
  [[ "$args" == *containerd-shim* && "$args" == *"$sock"* ]] || continue
  log "killing leftover shim $pid"
  kill -KILL "$pid" 2>/dev/null
done
# Container processes whose shim is gone still sit in the kubelet's cgroups.
find /sys/fs/cgroup/*/kubepods* -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u |
  while read -r pid; do kill -KILL "$pid" 2>/dev/null; done

# Mounts under the state folder (container root filesystems, sandbox /dev/shm
# and network namespaces, volumes), deepest first.
state_mounts() { awk -v s="$STATE/" 'index($2, s) == 1 { print $2 }' /proc/self/mounts | sort -r; }
for _ in 1 2 3; do
  mounts="$(state_mounts)"
  [[ -z "$mounts" ]] && break
  while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done <<<"$mounts"
done

# The bridge, with any veth still attached to it.
if ip link show "$BRIDGE" >/dev/null 2>&1; then
  for veth in $(ip -o link show master "$BRIDGE" | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
    ip link delete "$veth" 2>/dev/null
  done
  ip link delete "$BRIDGE"
fi

# The kubelet's cgroup tree (kubepods and its QoS children), leaves first.
find /sys/fs/cgroup/*/kubepods* -depth -type d -exec rmdir {} \; 2>/dev/null

# The last cluster's logs outlive it, for a failure to be read afterwards.
if [[ -d "$STATE/logs" ]]; then
  rm -rf "$CLUSTER_CACHE/last-logs"
  mkdir -p "$CLUSTER_CACHE"
  cp -r "$STATE/logs" "$CLUSTER_CACHE/last-logs"
fi
rm -rf "$STATE"
# Report what is still there instead of claiming a clean machine.
left="$(state_mounts)"
[[ -z "$left" ]] || die "mounts left under $STATE: $left"
ip link show "$BRIDGE" >/dev/null 2>&1 && die "network device $BRIDGE is still there"
log "cluster stopped"
