#!/usr/bin/env bash
# Runs the whole test suite: set-up (libstdc++, Fashion-MNIST; TORCHDOCTOR_SETUP_FLAGS adds e.g. --with-browser), build, xunit, and a closing line
# "N passed, N failed" taken from the TRX results. Exit code: 0 when nothing failed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
bash scripts/setup.sh --with-data ${TORCHDOCTOR_SETUP_FLAGS:-}
results="$here/TestResults"
rm -rf "$results"
set +e
dotnet test tests/TorchDoctor.Tests/TorchDoctor.Tests.csproj -c Release --nologo \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
code=$?
set -e
trx="$results/results.trx"
if [ ! -f "$trx" ]; then
  echo "0 passed, 1 failed"
  echo "test.sh: no test results were written (the build failed?)" >&2
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
passed=$(get passed); failed=$(get failed); errors=$(get error); total=$(get total); executed=$(get executed)
failed=$((failed + errors))
skipped=$((total - executed))
[ "$skipped" -gt 0 ] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
if [ "$code" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
