#!/usr/bin/env bash
# Installs everything replicore needs on a fresh Debian 12 machine (as root,
# or with sudo available): compilers (clang with libFuzzer too), Emscripten,
# the test and benchmark libraries, PostgreSQL, and the browsers of the
# end-to-end tests: Chromium, Firefox ESR and WebKitGTK (its WebDriver, the
# GObject bindings tests/e2e/webkit-browser.py drives it with, and Xvfb for
# its windows: Debian's WebKitGTK has no headless mode). Debian's browser
# builds only, never a downloaded one. Safe to run again.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
packages=(cmake g++ make python3 git pkg-config
  nlohmann-json3-dev libgtest-dev googletest libbenchmark-dev
  emscripten postgresql chromium brotli
  firefox-esr webkit2gtk-driver gir1.2-webkit2-4.1 python3-gi xvfb
  clang libclang-rt-14-dev)  # clang with libFuzzer: scripts/test-fuzz.sh
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "replicore needs Node.js 20 or newer on PATH" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi
