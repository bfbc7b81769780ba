#!/usr/bin/env bash
# Copies the desk's front-end files out of their npm packages, at pinned versions, into
# bot/desk/static/vendor/ (committed: nothing is fetched from a CDN, or from npm, at run time).
# Run it again after changing a version below; review with `git diff --stat bot/desk/static`.
# Needs npm (the npm registry). Each package's licence file is copied beside its files.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bot/desk/static/vendor
# package@version  files to copy (paths inside the package)
PACKAGES=(
  "htmx.org@2.0.11 dist/htmx.min.js LICENSE"
  "leaflet@1.9.4 dist/leaflet.js dist/leaflet.css dist/images/marker-icon.png dist/images/marker-icon-2x.png dist/images/marker-shadow.png dist/images/layers.png dist/images/layers-2x.png LICENSE"
  "leaflet.markercluster@1.5.3 dist/leaflet.markercluster.js dist/MarkerCluster.css dist/MarkerCluster.Default.css MIT-LICENCE.txt"
  "chart.js@4.4.9 dist/chart.umd.js LICENSE.md"
)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT"
{
  echo "# Vendored front-end packages"
  echo
  echo "Copied by \`scripts/vendor.sh\` from the npm registry; do not edit by hand."
  echo
  echo "| package | version | licence | files |"
  echo "| --- | --- | --- | --- |"
} > "$OUT/VERSIONS.md"
for entry in "${PACKAGES[@]}"; do
  read -r spec files <<< "$entry"
  name=${spec%@*}
  version=${spec##*@}
  tarball=$(cd "$work" && npm pack --silent "$spec")
  mkdir -p "$work/$name"
  tar -xzf "$work/$tarball" -C "$work/$name"
  licence=$(node -e "console.log(require('$work/$name/package/package.json').license)")
  mkdir -p "$OUT/$name"
  for file in $files; do
    mkdir -p "$OUT/$name/$(dirname "${file#dist/}")"
    cp "$work/$name/package/$file" "$OUT/$name/${file#dist/}"
  done
  echo "| $name | $version | $licence | $(echo "$files" | tr ' ' ',') |" >> "$OUT/VERSIONS.md"
  echo "vendored $name $version ($licence)" >&2
done
