#!/usr/bin/env bash
# Prints containerd's configuration (format version 2, containerd 1.6/1.7):
# its root, state and socket in the state folder so it shares nothing with a
# containerd the machine may run, runc with cgroupfs, and the CNI config of
# up.sh. Registry hosts live in a hosts folder written here too.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"
c="$STATE/containerd"

# podline.local is where the local images claim to come from; it must never be
# looked up. Its only host is the unreachable 127.0.0.1:1, so pulling an
# absent podline.local image fails with ErrImagePull without a DNS query.
mkdir -p "$c/certs.d/podline.local"
cat >"$c/certs.d/podline.local/hosts.toml" <<'EOF'
server = "http://127.0.0.1:1"

[host."http://127.0.0.1:1"]
  capabilities = ["pull", "resolve"]
EOF

cat <<EOF
version = 2
root = "$c/root"
state = "$c/state"
# Snapshotters this machine cannot use only log errors at start.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$c/containerd.sock"

[ttrpc]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$c/opt"

[plugins."io.containerd.grpc.v1.cri"]
  # Present locally (infra/images/local/build.sh); never pulled.
  sandbox_image = "podline.local/pause:1"
  # exec, attach and port-forward streams: loopback only.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # Sandbox network namespaces under the state folder, not /run/netns, so
  # down.sh finds every one of them there.
  netns_mounts_under_state_dir = true
  # The kubelet asks for negative oom_score_adj values (-998 for sandboxes),
  # which need CAP_SYS_RESOURCE; root on some VMs and CI sandboxes lacks it,
  # and runc then fails to start any container. Clamp to what we may set.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        # Matches the kubelet's cgroupDriver; there is no systemd to ask.
        SystemdCgroup = false
        Root = "$STATE/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$c/certs.d"
EOF
