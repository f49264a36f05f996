#!/usr/bin/env bash
# Installs the Debian packages the local cluster needs and the machine lacks.
# The Kubernetes binaries and etcd are not among them: build.sh makes those.
set -euo pipefail

# package:command pairs; a package counts as present when its command is.
needs=(
  containerd:containerd
  runc:runc
  containernetworking-plugins:/usr/lib/cni/bridge
  iptables:iptables
  socat:socat
  conntrack:conntrack
  umoci:umoci
  skopeo:skopeo
  busybox-static:busybox
  openssl:openssl
  gcc:gcc
  libc6-dev:/usr/lib/x86_64-linux-gnu/libc.a
  file:file
  curl:curl
)
missing=()
for pair in "${needs[@]}"; do
  package="${pair%%:*}" command="${pair#*:}"
  if [[ "$command" == /* ]]; then [[ -e "$command" ]] && continue; else command -v "$command" >/dev/null && continue; fi
  missing+=("$package")
done
# busybox-static replaces the dynamic busybox package; the images need the static one.
if command -v busybox >/dev/null && ! file -b "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked'; then
  missing+=(busybox-static)
fi
((${#missing[@]})) || exit 0

command -v apt-get >/dev/null || {
  echo "error: missing ${missing[*]} and no apt-get to install them with" >&2
  exit 1
}
echo "==> installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
