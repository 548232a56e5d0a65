#!/usr/bin/env bash
# TorchDoctor machine set-up. Idempotent: does nothing that is already done.
#  - TorchSharp 0.107 (libtorch 2.10) needs libstdc++ with GLIBCXX_3.4.32 (GCC 13+). Debian 12 ships
#    GCC 12's; when (and only when) the symbol is missing, install libstdc++6 from Debian trixie,
#    pinned at priority 100 so every other package stays on Debian 12.
#  - --with-data: also install the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)
#    used by the real-data tests and case studies.
#  - --with-browser: also install Debian's chromium, which the HTML-report tests drive headless.
# Usage: bash scripts/setup.sh [--with-data] [--with-browser] [--quiet]
set -euo pipefail

with_data=0
with_browser=0
quiet=0
for arg in "$@"; do
  case "$arg" in
    --with-data) with_data=1 ;;
    --with-browser) with_browser=1 ;;
    --quiet) quiet=1 ;;
    *) echo "setup.sh: unknown option $arg (use --with-data, --with-browser, --quiet)" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "setup: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
fi
apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    $SUDO apt-get update -qq >&2
    apt_updated=1
  fi
}

libstdcxx() {
  # The libstdc++.so.6 the dynamic loader resolves (ldconfig cache), else the usual places.
  local p
  p=$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64|libstdc\+\+\.so\.6 .*AArch64/ {print $NF; exit}')
  if [ -z "$p" ]; then
    for c in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/aarch64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6; do
      [ -e "$c" ] && { p=$c; break; }
    done
  fi
  echo "$p"
}

if [ "$(uname -s)" = Linux ]; then
  lib=$(libstdcxx)
  if [ -n "$lib" ] && grep -q GLIBCXX_3.4.32 "$lib"; then
    say "libstdc++ has GLIBCXX_3.4.32 ($lib): nothing to do"
  else
    if [ -r /etc/os-release ] && . /etc/os-release && [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ]; then
      say "libstdc++ lacks GLIBCXX_3.4.32: installing libstdc++6 from Debian trixie (pinned, priority 100)"
      echo "deb http://deb.debian.org/debian trixie main" | $SUDO tee /etc/apt/sources.list.d/trixie.list >/dev/null
      printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' | $SUDO tee /etc/apt/preferences.d/trixie-pin >/dev/null
      apt_update
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t trixie --no-install-recommends libstdc++6 >&2
      lib=$(libstdcxx)
      grep -q GLIBCXX_3.4.32 "$lib" || { echo "setup: libstdc++6 from trixie did not provide GLIBCXX_3.4.32 ($lib)" >&2; exit 1; }
      say "installed: $lib now has GLIBCXX_3.4.32"
    else
      echo "setup: $lib lacks GLIBCXX_3.4.32, which TorchSharp 0.107 (libtorch 2.10) needs." >&2
      echo "setup: install libstdc++ from GCC 13 or newer with your distribution's package manager." >&2
      exit 1
    fi
  fi
fi

if [ "$with_data" = 1 ] && [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing dataset-fashion-mnist (Fashion-MNIST IDX files)"
    apt_update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >&2
  else
    say "dataset-fashion-mnist not installed and no apt-get: real-data tests will be skipped"
  fi
fi

if [ "$with_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "installing chromium (headless browser for the HTML-report tests)"
    apt_update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >&2
  else
    say "chromium not installed and no apt-get: the browser tests will be skipped"
  fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK (dotnet) is not on PATH; install it first." >&2
  exit 1
fi
