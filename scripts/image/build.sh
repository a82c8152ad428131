#!/usr/bin/env bash
# Builds kube-proxy-ts into PREFIX as the runtime image lays it out; the Dockerfile's builder
# stage runs it, and so does test/deploy/image-build.test.ts, outside any container:
#   PREFIX/opt/kube-proxy-ts/         package.json, binding.gyp, dist/src, build/Release/*.node,
#                                     node_modules (production dependencies only)
#   PREFIX/usr/local/bin/node         Node 24, the binary of the npm "node" package the build used
#   PREFIX/usr/local/bin/kube-proxy-ts, kube-proxy-ts-entrypoint
#
#   build.sh SRC_DIR PREFIX
# SRC_DIR is a copy of the repository. Unless KPTS_SKIP_NPM_CI=1 (the test: SRC_DIR already has
# node_modules, dist and the native module), `npm ci` installs everything from the npm registry
# and builds the native module (node-gyp, headers from the "node" package, see .npmrc) and dist
# (the prepare script).
set -euo pipefail

[ "$#" -eq 2 ] || { echo "usage: $0 SRC_DIR PREFIX" >&2; exit 2; }
src=$(cd "$1" && pwd)
prefix=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app=$prefix/opt/kube-proxy-ts

step() { echo "build.sh: $*" >&2; }

if [ "${KPTS_SKIP_NPM_CI:-0}" != 1 ]; then
  step "npm ci (dependencies, native module, TypeScript)"
  (cd "$src" && npm ci --no-audit --no-fund)
fi

node_bin=$(readlink -f "$src/node_modules/node/bin/node")
[ -x "$node_bin" ] || { echo "no Node binary at node_modules/node/bin/node: is the devDependency \"node\" installed?" >&2; exit 1; }
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
[ "$node_major" = 24 ] || { echo "expected Node 24, node_modules has Node $node_major" >&2; exit 1; }
[ -f "$src/dist/src/cli/main.js" ] || { echo "dist/src/cli/main.js is missing: the TypeScript build did not run" >&2; exit 1; }
addons=("$src"/build/Release/*.node)
[ -f "${addons[0]}" ] || { echo "no native module in build/Release" >&2; exit 1; }

step "staging into $prefix"
rm -rf "$app"
mkdir -p "$app/dist" "$app/build/Release" "$app/node_modules" "$prefix/usr/local/bin"
cp "$src/package.json" "$src/package-lock.json" "$src/binding.gyp" "$app/"
cp -R "$src/dist/src" "$app/dist/src"
# Source maps stay: stack traces from a node point at the TypeScript lines.
cp "${addons[@]}" "$app/build/Release/"

# Production dependencies only, as npm resolves them from the lockfile (no registry access).
mapfile -t deps < <(cd "$src" && npm ls --omit=dev --all --parseable 2>/dev/null | tail -n +2)
[ "${#deps[@]}" -gt 0 ] || { echo "npm ls found no production dependencies" >&2; exit 1; }
for dir in "${deps[@]}"; do
  rel=${dir#"$src/node_modules/"}
  [ "$rel" != "$dir" ] || { echo "unexpected dependency path $dir" >&2; exit 1; }
  # Merged into place: a nested dependency's folder may be listed before or after its parent's.
  mkdir -p "$app/node_modules/$rel"
  cp -R "$dir/." "$app/node_modules/$rel/"
done

install -m 0755 "$node_bin" "$prefix/usr/local/bin/node"
install -m 0755 "$here/entrypoint.sh" "$prefix/usr/local/bin/kube-proxy-ts-entrypoint"
cat > "$prefix/usr/local/bin/kube-proxy-ts" <<'WRAPPER'
#!/bin/sh
exec /usr/local/bin/node /opt/kube-proxy-ts/dist/src/cli/main.js "$@"
WRAPPER
chmod 0755 "$prefix/usr/local/bin/kube-proxy-ts"

step "smoke test of the staged tree"
"$prefix/usr/local/bin/node" "$app/dist/src/cli/main.js" --version
(cd "$app" && "$prefix/usr/local/bin/node" -e 'require("node-gyp-build")(process.cwd())' ) ||
  { echo "the native module does not load from the staged tree" >&2; exit 1; }
step "done: $(du -sh "$app" | cut -f1) in $app"
