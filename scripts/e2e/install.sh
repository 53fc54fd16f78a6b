#!/usr/bin/env bash
# Installs what the end-to-end suite (test/e2e) needs: Debian's Chromium and the build tools that
# code-server's native modules compile with, then code-server 4.100.3 (VS Code 1.100.3's
# workbench) into a cache folder outside the repository. Safe to run again: each step is skipped
# when its result is already there. Runs unattended as root (CI=true) or with sudo available.
#
#   CNNSLICER_E2E_HOME   where code-server is installed (default ~/.cache/cnnslicer-e2e);
#                        test/e2e/harness.ts reads the same variable.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
E2E_HOME="${CNNSLICER_E2E_HOME:-$HOME/.cache/cnnslicer-e2e}"
CS_DIR="$E2E_HOME/code-server-$CODE_SERVER_VERSION"
# Written only after a complete install, so an interrupted one is redone rather than trusted.
MARKER="$CS_DIR/.installed"

APT_PACKAGES=(build-essential python3 pkg-config libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev ripgrep chromium)

log() { printf '[e2e-install] %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "Debian packages already installed"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# @vscode/ripgrep's postinstall would download ripgrep from GitHub, which is unreachable here; it
# first looks for this exact archive under $TMPDIR, and Debian's rg is the same 13.0.0 build.
seed_ripgrep_cache() {
  local cache="$RG_TMPDIR/vscode-ripgrep-cache-1.15.11"
  local archive="$cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ -s "$archive" ]; then
    log "ripgrep archive already cached"
    return
  fi
  local rg
  rg="$(command -v rg)"
  if ! "$rg" --version | head -n1 | grep -q '^ripgrep 13\.'; then
    log "warning: $rg is not ripgrep 13 ($("$rg" --version | head -n1)); code-server's search may misbehave"
  fi
  mkdir -p "$cache"
  local stage
  stage="$(mktemp -d)"
  cp "$rg" "$stage/rg"
  tar -C "$stage" -czf "$archive.tmp" rg
  mv "$archive.tmp" "$archive"
  rm -rf "$stage"
  log "cached Debian's ripgrep as $archive"
}

install_code_server() {
  if [ -f "$MARKER" ] && [ -x "$CS_DIR/node_modules/.bin/code-server" ]; then
    log "code-server $CODE_SERVER_VERSION already installed in $CS_DIR"
    return
  fi
  log "installing code-server $CODE_SERVER_VERSION into $CS_DIR (about a minute: native modules compile)"
  log "(argon2's 'node-pre-gyp ERR!' about github.com is expected: it then builds from source)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  cat >"$CS_DIR/package.json" <<'EOF'
{
  "name": "cnnslicer-e2e-code-server",
  "private": true,
  "allowScripts": { "code-server": true, "argon2": true }
}
EOF
  # node-gyp would download Node's headers, which this network refuses; the installed Node has them in /usr/include/node.
  if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/common.gypi ] && [ "$(npm config get nodedir)" = "undefined" ]; then
    export npm_config_nodedir=/usr
  fi
  # unsafe_perm: code-server's postinstall refuses to run as root without it.
  # yes: node-pty's postinstall runs `npx node-gyp`, whose prompt would otherwise abort the install.
  (
    cd "$CS_DIR"
    TMPDIR="$RG_TMPDIR" npm_config_unsafe_perm=true npm_config_yes=true \
      npm install --no-audit --no-fund --foreground-scripts "code-server@$CODE_SERVER_VERSION"
  )
  # code-server writes a default config under XDG_CONFIG_HOME on any start, --version included.
  local scratch
  scratch="$(mktemp -d)"
  XDG_CONFIG_HOME="$scratch" XDG_DATA_HOME="$scratch" "$CS_DIR/node_modules/.bin/code-server" --version
  rm -rf "$scratch"
  date -u +%Y-%m-%dT%H:%M:%SZ >"$MARKER"
  log "code-server installed"
}

main() {
  mkdir -p "$E2E_HOME"
  # The ripgrep lookup uses TMPDIR, so the install must run with the same one; keeping it inside
  # E2E_HOME makes the seeded archive survive /tmp being cleaned.
  RG_TMPDIR="$E2E_HOME/tmp"
  mkdir -p "$RG_TMPDIR"
  install_apt_packages
  seed_ripgrep_cache
  install_code_server
  log "done: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing')"
}

main "$@"
