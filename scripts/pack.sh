#!/usr/bin/env bash
# Builds the library NuGet package (TorchDoctor, with symbols) and the CLI as a dotnet tool (TorchDoctor.Cli, command
# `torchdoctor`) and the notebook formatters (TorchDoctor.Interactive) into a local feed directory.
# Usage: bash scripts/pack.sh [FEED_DIR (default artifacts/feed)] [VERSION (default: the projects' own)]
# Then, in your project:   dotnet add package TorchDoctor --source FEED_DIR   (plus TorchSharp-cpu for the native runtime)
#                          dotnet tool install --global TorchDoctor.Cli --add-source FEED_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
feed="${1:-$here/artifacts/feed}"
version="${2:-}"
mkdir -p "$feed"
feed="$(cd "$feed" && pwd)"
props=()
[ -n "$version" ] && props=("-p:Version=$version")
cd "$here"
dotnet pack src/TorchDoctor/TorchDoctor.csproj -c Release -o "$feed" --nologo -v quiet "${props[@]}" >&2
dotnet pack src/TorchDoctor.Cli/TorchDoctor.Cli.csproj -c Release -o "$feed" --nologo -v quiet "${props[@]}" >&2
dotnet pack src/TorchDoctor.Interactive/TorchDoctor.Interactive.csproj -c Release -o "$feed" --nologo -v quiet "${props[@]}" >&2
ls -1 "$feed"
