#!/usr/bin/env bash
# Everything CNNSlicer needs on a fresh Debian machine of this project's kind (run as root, or
# with sudo available): Debian packages for the Python side and the browser tests, the npm
# dependencies, code-server for the end-to-end tests, and the build. Safe to run again: each
# step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-numpy python3-scipy python3-torch python3-torchvision python3-pip python3-venv python3-hatchling python3-nbclient python3-nbformat python3-ipykernel chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: npm dependencies"
npm ci --no-audit --no-fund

if [ "${CNNSLICER_SKIP_E2E_INSTALL:-}" != "1" ]; then
  echo "setup: code-server for the end-to-end tests"
  bash scripts/e2e/install.sh
fi

echo "setup: build"
npm run build
