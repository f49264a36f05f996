#!/usr/bin/env bash
# Makes the cluster's certificates with openssl, in the folder given:
# one CA that signs every serving and client certificate, and the key pair
# service-account tokens are signed with. Identities follow what the API
# server's authorizers expect: the CN is the user, O the group.
set -euo pipefail
dir="$1"
mkdir -p "$dir"
cd "$dir"
umask 077
days=30

openssl genrsa -out ca.key 2048 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=podline-cluster-ca" -out ca.crt

# cert NAME SUBJECT EXTENSIONS: a key and a certificate signed by the CA.
cert() {
  local name="$1" subject="$2" ext="$3"
  openssl genrsa -out "$name.key" 2048 2>/dev/null
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  printf '%s\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days "$days" -sha256 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
client='basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'
server() {
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$1"
}

# The API server answers on 127.0.0.1; the Service names are there for clients
# that use the in-cluster defaults.
cert apiserver "/CN=kube-apiserver" "$(server 'IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local')"
# The kubelet's serving certificate, checked by the API server (logs, exec).
cert kubelet-server "/CN=127.0.0.1" "$(server 'IP:127.0.0.1,DNS:localhost')"
# The API server's identity towards the kubelet (logs, exec, port-forward).
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
cert admin "/O=system:masters/CN=podline-admin" "$client"
cert controller-manager "/CN=system:kube-controller-manager" "$client"
cert scheduler "/CN=system:kube-scheduler" "$client"
# The Node authorizer and NodeRestriction know a kubelet by this name and group.
cert kubelet "/O=system:nodes/CN=system:node:127.0.0.1" "$client"

openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
