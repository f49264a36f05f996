#!/usr/bin/env bash
# Writes a kubeconfig per client identity into the state folder, each with its
# certificate embedded so the file stands alone.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=infra/cluster/lib.sh
. "$here/lib.sh"
pki="$STATE/pki"

b64() { base64 -w0 <"$1"; }
kubeconfig() {
  local file="$1" cert="$2" user="$3"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: podline
    cluster:
      server: https://127.0.0.1:$APISERVER_PORT
      certificate-authority-data: $(b64 "$pki/ca.crt")
users:
  - name: $user
    user:
      client-certificate-data: $(b64 "$pki/$cert.crt")
      client-key-data: $(b64 "$pki/$cert.key")
contexts:
  - name: podline
    context:
      cluster: podline
      user: $user
current-context: podline
EOF
  chmod 600 "$file"
}

kubeconfig "$STATE/admin.kubeconfig" admin podline-admin
kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
kubeconfig "$STATE/scheduler.kubeconfig" scheduler system:kube-scheduler
kubeconfig "$STATE/kubelet.kubeconfig" kubelet system:node:127.0.0.1
