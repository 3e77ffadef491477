#!/usr/bin/env bash
# Vendors Workbox (the service worker library of the inspector's tablet, docs/OFFLINE.md) into
# supervision/inspections/static/supervision/workbox/<version>/, from the npm registry with
# `npm pack` at a pinned version. The files are committed: nothing is fetched from a CDN at run
# time, and the service worker (/sw.js) loads them from our own static files.
#
#   scripts/vendor_workbox.sh            # the pinned version
#   WORKBOX_VERSION=7.4.2 scripts/vendor_workbox.sh   # another one (then update WORKBOX_VERSION in
#                                        # supervision/inspections/views/tablet.py)
#
# The "//# sourceMappingURL=" lines are removed: the maps are not vendored, and Django's manifest
# storage (collectstatic) refuses a file that names a missing one.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${WORKBOX_VERSION:-7.4.1}"
MODULES=(core precaching routing strategies background-sync)
DEST="$ROOT/supervision/inspections/static/supervision/workbox/$VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v npm >/dev/null || { echo "npm is needed (apt-get install npm)" >&2; exit 1; }
cd "$WORK"
npm pack --silent "workbox-sw@$VERSION" >/dev/null
for module in "${MODULES[@]}"; do
  npm pack --silent "workbox-$module@$VERSION" >/dev/null
done

rm -rf "$DEST"
mkdir -p "$DEST"
unpack() {  # unpack <package> <file in package/build> ...
  local package="$1"; shift
  mkdir -p "$WORK/$package"
  tar xzf "$WORK/$package-$VERSION.tgz" -C "$WORK/$package"
  for file in "$@"; do
    sed '/^\/\/# sourceMappingURL=/d' "$WORK/$package/package/build/$file" >"$DEST/$file"
  done
}
unpack workbox-sw workbox-sw.js
for module in "${MODULES[@]}"; do
  unpack "workbox-$module" "workbox-$module.prod.js"
done
cp "$WORK/workbox-sw/package/LICENSE" "$DEST/LICENSE"
{
  echo "Workbox $VERSION (https://developer.chrome.com/docs/workbox), MIT licence (LICENSE)."
  echo "Vendored by scripts/vendor_workbox.sh from the npm registry (npm pack); do not edit."
  echo "sha256:"
  (cd "$DEST" && sha256sum workbox-*.js)
} >"$DEST/README.txt"
echo "Workbox $VERSION vendored in ${DEST#"$ROOT"/}"
