#!/usr/bin/env bash
# Builds the images of the local cluster (infra/cluster) on this machine, with
# no Docker engine and no registry: a root filesystem assembled from local
# files, made into an OCI image with umoci and archived with skopeo, ready for
# `ctr images import`.
#
#   infra/images/local/build.sh shell|pause|worker|python...
#
#   shell   podline.local/shell:1    busybox-static and curl; task pods and the XCom sidecar
#   pause   podline.local/pause:1    the pod sandbox (infra/images/pause/pause.c)
#   worker  podline.local/worker:dev Node.js and the built project, the local
#                                    counterpart of infra/images/worker/Dockerfile
#   python  podline.local/python:1   CPython 3.11, pydantic and the podline package
#                                    (sdks/python), with examples/python in /app
#
# Archives land in ${PODLINE_CLUSTER_CACHE:-/var/cache/podline-cluster}/images,
# named after a hash of their inputs, so an unchanged image is not rebuilt.
# Prints one archive path per image asked for, in order.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out_dir="${PODLINE_CLUSTER_CACHE:-/var/cache/podline-cluster}/images"
mkdir -p "$out_dir"

log() { echo "==> $*" >&2; }
die() {
  echo "error: $*" >&2
  exit 1
}
for tool in umoci skopeo; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install umoci skopeo)"
done

# The layout's fixed parts; each image adds its own root filesystem.
base_rootfs() {
  local root="$1"
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root}
  chmod 1777 "$root/tmp"
  # Numeric users are enough for Kubernetes; the names help `id` and `ps`.
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnobody:x:65534:\n' >"$root/etc/group"
}

# Debian's busybox-static runs an applet named by argv[0] or as `busybox
# <applet>`; commands such as `sh -c '… | sha256sum'` need each applet on the
# PATH, so every applet gets a link, as `busybox --install -s` would make.
add_busybox() {
  local root="$1" applet
  [[ -x /bin/busybox ]] || die "/bin/busybox is missing (apt-get install busybox-static)"
  file -b /bin/busybox 2>/dev/null | grep -q 'statically linked' ||
    die "/bin/busybox is not the static build (apt-get install busybox-static)"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ "$applet" == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
}

# The shared libraries a dynamically linked program loads (the loader included), one path a line.
libs_of() {
  ldd "$1" | grep -o '/[^ ]*'
}

# Copies a dynamically linked program with the shared libraries it loads.
add_with_libs() {
  local root="$1" program="$2" lib
  mkdir -p "$root$(dirname "$program")"
  cp -L "$program" "$root$program"
  for lib in $(libs_of "$program"); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# make_image NAME:TAG ROOTFS_FN KEY [umoci config flags...]
# ROOTFS_FN fills the root filesystem it is given; KEY names the inputs.
make_image() {
  local ref="$1" fill="$2" key="$3"
  shift 3
  local name="${ref%:*}" tag="${ref##*:}"
  local out
  out="$out_dir/$(basename "$name")-$tag-$(printf '%s' "$key" | sha256sum | cut -c1-16).tar"
  if [[ -f "$out" ]]; then
    echo "$out"
    return
  fi
  log "building $ref"
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: $work is local
  trap "rm -rf '$work'" RETURN
  umoci init --layout "$work/oci"
  umoci new --image "$work/oci:$tag"
  umoci unpack --image "$work/oci:$tag" "$work/bundle" >/dev/null
  "$fill" "$work/bundle/rootfs"
  umoci repack --image "$work/oci:$tag" "$work/bundle"
  umoci config --image "$work/oci:$tag" "$@"
  skopeo copy --quiet "oci:$work/oci:$tag" "oci-archive:$out.tmp:$ref"
  mv -f "$out.tmp" "$out"
  # Older builds of the same image are of no further use.
  find "$out_dir" -maxdepth 1 -name "$(basename "$name")-$tag-*.tar" ! -path "$out" -delete
  echo "$out"
}

# The sidecar PUTs a result over the log frame's limit to the XCom store with curl (plain http on
# this machine: no CA certificates). Debian's curl with its libraries adds about 19 MB unpacked.
SHELL_CURL=/usr/bin/curl
fill_shell() {
  base_rootfs "$1"
  add_busybox "$1"
  add_with_libs "$1" "$SHELL_CURL"
}
build_shell() {
  [[ -x "$SHELL_CURL" ]] || die "$SHELL_CURL is missing (apt-get install curl)"
  local key
  # shellcheck disable=SC2046 # one path a word
  key="shell-1 $(sha256sum /bin/busybox "$here/build.sh" "$SHELL_CURL" $(libs_of "$SHELL_CURL"))"
  make_image podline.local/shell:1 fill_shell "$key" \
    --config.env PATH=/bin:/usr/bin --config.cmd /bin/sh --config.workingdir /
}

fill_pause() {
  mkdir -p "$1/bin"
  # Static, so the image needs nothing else.
  gcc -static -Os -s -o "$1/bin/pause" "$here/../pause/pause.c"
}
build_pause() {
  command -v gcc >/dev/null || die "gcc is missing (apt-get install gcc libc6-dev)"
  local key
  key="pause-1 $(sha256sum "$here/../pause/pause.c") $(gcc --version | head -1)"
  make_image podline.local/pause:1 fill_pause "$key" \
    --config.entrypoint /bin/pause --config.user 65535:65535
}

# The worker image holds what infra/images/worker/Dockerfile's runtime stage
# holds: node, the built packages and apps with their production
# dependencies, `podline` on the PATH, and the root package.json and
# node_modules link that pipelines under /pipelines resolve through. node is
# the one on the PATH (with its shared libraries) instead of node:22-alpine's.

# Production dependencies, installed once per lockfile (the Dockerfile's
# `npm ci` layer) and copied into each image.
worker_deps() {
  local deps
  deps="$out_dir/worker-deps-$(cat "$repo/package-lock.json" "$repo"/packages/*/package.json "$repo"/apps/*/package.json "$repo/bench/package.json" | sha256sum | cut -c1-16)"
  if [[ ! -d "$deps" ]]; then
    log "installing the worker's production dependencies"
    find "$out_dir" -maxdepth 1 -name 'worker-deps-*' -type d -exec rm -rf {} +
    mkdir -p "$deps.tmp"
    # The manifests the Dockerfile copies before `npm ci`.
    (cd "$repo" && cp --parents package.json package-lock.json \
      packages/*/package.json apps/*/package.json bench/package.json "$deps.tmp/")
    (cd "$deps.tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    mv "$deps.tmp" "$deps"
  fi
  echo "$deps"
}

fill_worker() {
  local root="$1" app="$1/app" node
  base_rootfs "$root"
  add_busybox "$root"
  node="$(readlink -f "$(command -v node)")"
  add_with_libs "$root" "$node"
  mkdir -p "$root/usr/local/bin"
  [[ "$node" == /usr/local/bin/node ]] || ln -sf "$node" "$root/usr/local/bin/node"
  mkdir -p "$app"
  cp -a "$(worker_deps)/." "$app/"
  # The built workspaces, without sources and build caches, as in the Dockerfile.
  tar -C "$repo" --exclude=node_modules --exclude=src --exclude=.turbo --exclude='tsconfig*.json' \
    -cf - packages apps | tar -C "$app" -xf -
  printf '#!/bin/sh\nexec node /app/apps/cli/dist/main.js "$@"\n' >"$root/usr/local/bin/podline"
  chmod 0555 "$root/usr/local/bin/podline"
  ln -s /app/node_modules "$root/node_modules"
  printf '{ "type": "module" }\n' >"$root/package.json"
  mkdir -p "$root/pipelines"
}
build_worker() {
  command -v node >/dev/null || die "node is missing"
  [[ -f "$repo/apps/worker/dist/main.js" ]] || die "the project is not built (npm run build)"
  local key
  # Keyed by this script, the lockfile, node, and every file the image copies.
  key="worker-dev $(sha256sum "$here/build.sh" "$repo/package-lock.json" "$(readlink -f "$(command -v node)")")
$(cd "$repo" && find packages apps \( -name node_modules -o -name src -o -name .turbo \) -prune -o -type f ! -name 'tsconfig*.json' -print | sort | xargs sha256sum | sha256sum)"
  make_image podline.local/worker:dev fill_worker "$key" \
    --config.env PATH=/usr/local/bin:/bin --config.env NODE_ENV=production \
    --config.env 'PODLINE_PIPELINES=/pipelines/*.ts' --config.env PODLINE_HTTP_PORT=8080 \
    --config.workingdir /app --config.user 1000:1000 \
    --config.exposedports 8080/tcp \
    --config.cmd node --config.cmd apps/worker/dist/main.js
}

# The image of Python pod tasks: Debian's CPython with its standard library, less what a pod never
# runs (tests, IDLE, Tk, curses, the build configuration, bytecode caches), the podline package
# and its dependencies from .venv (scripts/python-env.sh), and the script and generated models of
# examples/python-pod.ts in /app (`python3 /app/score.py`). busybox gives it `sh`.
PYTHON=/usr/bin/python3.11
PYTHON_STDLIB=/usr/lib/python3.11
# What a pod task never runs: left out of the standard library.
PYTHON_STDLIB_OMIT=(
  __pycache__ '*.pyc' test idlelib tkinter turtledemo turtle.py ensurepip venv lib2to3 pydoc_data
  distutils curses __phello__ 'config-3.11-*' EXTERNALLY-MANAGED
  '_test*.so' '_ctypes_test.*' '_xxtestfuzz.*' 'xxlimited*' '_curses*' 'readline.*' 'nis.*'
  'ossaudiodev.*' '_dbm.*'
)
# pydantic and the packages it imports (pydantic-core is compiled for CPython 3.11).
PYTHON_PACKAGES=(pydantic pydantic_core typing_extensions.py typing_inspection annotated_types)
python_site() {
  local site="$repo/.venv/lib/python3.11/site-packages"
  [[ -d "$site/pydantic_core" ]] || die "no pydantic in $site (bash scripts/python-env.sh)"
  echo "$site"
}
fill_python() {
  local root="$1" site so lib omit=() pattern
  base_rootfs "$root"
  add_busybox "$root"
  add_with_libs "$root" "$PYTHON"
  ln -s python3.11 "$root/usr/bin/python3"
  for pattern in "${PYTHON_STDLIB_OMIT[@]}"; do omit+=(--exclude="$pattern"); done
  mkdir -p "$root$PYTHON_STDLIB"
  tar -C "$PYTHON_STDLIB" "${omit[@]}" -cf - . | tar -C "$root$PYTHON_STDLIB" -xf -
  site="$(python_site)"
  # Debian's CPython puts this folder on sys.path (site.py).
  mkdir -p "$root/usr/local/lib/python3.11/dist-packages"
  tar -C "$site" --exclude=__pycache__ -cf - "${PYTHON_PACKAGES[@]}" \
    -C "$repo/sdks/python/src" podline | tar -C "$root/usr/local/lib/python3.11/dist-packages" -xf -
  # The libraries of the extension modules kept (libssl for https, libsqlite3, libgcc_s for
  # pydantic-core …), as ldd lists them on this machine.
  while IFS= read -r -d '' so; do
    for lib in $(libs_of "$so"); do
      [[ -e "$root$lib" ]] || { mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"; }
    done
  done < <(find "$root$PYTHON_STDLIB/lib-dynload" "$root/usr/local/lib/python3.11/dist-packages" -name '*.so' -print0)
  mkdir -p "$root/app"
  tar -C "$repo/examples/python" --exclude=__pycache__ -cf - . | tar -C "$root/app" -xf -
}
build_python() {
  [[ -x "$PYTHON" ]] || die "$PYTHON is missing (apt-get install python3.11)"
  local key site
  site="$(python_site)"
  # Keyed by this script, CPython and its libraries, and every file the image copies.
  # shellcheck disable=SC2046 # one path a word
  key="python-1 $(sha256sum "$here/build.sh" "$PYTHON" $(libs_of "$PYTHON"))
$(cd "$PYTHON_STDLIB" && find . -type f ! -path '*/__pycache__/*' -print | sort | xargs sha256sum | sha256sum)
$(cd "$site" && find "${PYTHON_PACKAGES[@]}" -type f ! -path '*/__pycache__/*' -print | sort | xargs sha256sum | sha256sum)
$(cd "$repo" && find sdks/python/src/podline examples/python -type f ! -path '*/__pycache__/*' -print | sort | xargs sha256sum | sha256sum)"
  make_image podline.local/python:1 fill_python "$key" \
    --config.env PATH=/usr/bin:/bin --config.env PYTHONDONTWRITEBYTECODE=1 \
    --config.env PYTHONUNBUFFERED=1 --config.workingdir /app --config.cmd python3
}

(($#)) || die "usage: $0 shell|pause|worker|python..."
for image in "$@"; do
  case "$image" in
    shell | pause | worker | python) "build_$image" ;;
    *) die "unknown image $image (shell, pause, worker or python)" ;;
  esac
done
