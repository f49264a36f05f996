#!/usr/bin/env bash
# Builds the cluster's binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kubectl) from the Go module in infra/cluster/build
# into a cache folder outside git, keyed by the Kubernetes version:
#   ${PODLINE_CLUSTER_CACHE:-/var/cache/podline-cluster}/<k8s-version>/bin
# A second run with the same go.mod/go.sum does nothing. Prints the bin folder
# as its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"

mod="$here/build"
bin="$(cluster_bin_dir)"
stamp="$bin/.built-from"
# The stamp records the exact module graph the binaries came from, so editing
# a pinned version rebuilds instead of reusing stale binaries.
want="$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  log "binaries up to date in $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || die "go is not installed (Go 1.24 or later is needed to build the cluster)"

k8s_version="$(cluster_k8s_version)"
minor="${k8s_version#v1.}"; minor="${minor%%.*}"
mkdir -p "$bin"
tmp="$(mktemp -d "$bin/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# The version stamp upstream's release build puts in; without it every
# component reports v0.0.0 and `kubectl version` cannot tell what runs.
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"

start=$SECONDS
log "building Kubernetes $k8s_version and etcd into $bin (a cold build takes a while on 2 cores)"
cd "$mod"
# Static binaries, like the upstream release; nice so the machine stays usable.
export CGO_ENABLED=0
nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubelet \
  k8s.io/kubernetes/cmd/kubectl
# etcd's main package is the root of its server module; -o names it.
nice -n 10 go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3

mv -f "$tmp"/etcd "$tmp"/kube-apiserver "$tmp"/kube-controller-manager \
  "$tmp"/kube-scheduler "$tmp"/kubelet "$tmp"/kubectl "$bin/"
echo "$want" >"$stamp"
log "built in $((SECONDS - start))s"
echo "$bin"
