#!/usr/bin/env bash
# Prints the kubelet's configuration (kubelet.config.k8s.io/v1beta1).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"
pki="$STATE/pki"

cat <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# Loopback only; the read-only port stays closed.
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $pki/kubelet-server.crt
tlsPrivateKeyFile: $pki/kubelet-server.key
# Only the API server (its client certificate) may call the kubelet's API.
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $pki/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$STATE/containerd/containerd.sock
# This machine has cgroup v1 hierarchies and no systemd: the kubelet writes
# the cgroup tree itself (cgroupfs, the same driver runc is given), and
# failCgroupV1 is spelled out because releases after 1.34 turn it on by
# default and would refuse this host.
cgroupDriver: cgroupfs
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
podLogsDir: $STATE/pod-logs
# No cluster DNS here, and the host's resolver is off this machine: pods get
# no nameserver at all rather than one they would send queries to.
resolvConf: ""
# The KUBE-IPTABLES-HINT chain informs a kube-proxy; there is none, and this
# way the kubelet leaves the host's iptables as it found them.
makeIPTablesUtilChains: false
# The local images cannot be pulled again, so the kubelet must never remove
# them; and a busy test disk must not evict the pods under test.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
serializeImagePulls: false
# Container logs rotate at 3 MiB (the default is 10 MiB), checked every 3 s
# (the least allowed; the default is 10 s), so the cluster suite's rotation
# scenario sees the kubelet rotate a log within seconds. 3 MiB still holds the
# suite's 50,000-line log and a 1 MiB result's frame whole.
containerLogMaxSize: 3Mi
containerLogMaxFiles: 5
containerLogMonitorInterval: 3s
EOF
