#!/usr/bin/env bash
# Vendors the chart library the HTML report inlines (no network when a report is opened):
# Chart.js, its matrix chart (gradient-norm heatmap) and annotation plugin (overfitting onset marker),
# UMD builds copied from npm into src/TorchDoctor/Reporting/Assets/ (embedded resources). Versions are pinned here;
# run again after changing them and commit the result.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$here/src/TorchDoctor/Reporting/Assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts chart.js@4.6.1 chartjs-chart-matrix@3.1.0 chartjs-plugin-annotation@3.1.0 >&2
mkdir -p "$dest"
cp node_modules/chart.js/dist/chart.umd.min.js "$dest/chart.umd.min.js" 2>/dev/null || cp node_modules/chart.js/dist/chart.umd.js "$dest/chart.umd.min.js"
cp node_modules/chartjs-chart-matrix/dist/chartjs-chart-matrix.min.js "$dest/chartjs-chart-matrix.min.js"
cp node_modules/chartjs-plugin-annotation/dist/chartjs-plugin-annotation.min.js "$dest/chartjs-plugin-annotation.min.js"
for p in chart.js chartjs-chart-matrix chartjs-plugin-annotation; do
  v=$(node -p "require('./node_modules/$p/package.json').version")
  l=$(node -p "require('./node_modules/$p/package.json').license")
  echo "$p $v $l"
done > "$dest/VERSIONS.txt"
cp node_modules/chart.js/LICENSE.md "$dest/LICENSE.chart.js.md" 2>/dev/null || true
cat "$dest/VERSIONS.txt" >&2
