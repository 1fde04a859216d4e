#!/usr/bin/env bash
# The browser of the frontend's end-to-end test (tests/browser): Debian's `chromium`.
#
# Prints the browser's path and version when it is installed (CHROMIUM_PATH overrides
# the default /usr/bin/chromium). When it is missing, installs it from Debian with
# `apt-get update && apt-get install -y chromium` if this runs as root; otherwise it
# prints exactly what to run and exits 1. Idempotent: an installed browser is only checked.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
say() { printf 'chromium: %s\n' "$*"; }
die() { printf 'chromium: error: %s\n' "$*" >&2; exit 1; }

works() { "$CHROMIUM" --headless --no-sandbox --version >/dev/null 2>&1; }

if [ -x "$CHROMIUM" ] && works; then
  say "$("$CHROMIUM" --version 2>/dev/null | head -n1) at $CHROMIUM"
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  die "CHROMIUM_PATH=$CHROMIUM is not a working browser (unset it to use Debian's /usr/bin/chromium)."
fi
if [ -e "$CHROMIUM" ]; then
  die "$CHROMIUM exists but does not start (try: $CHROMIUM --headless --no-sandbox --version); reinstall it with: apt-get install --reinstall -y chromium"
fi
command -v apt-get >/dev/null 2>&1 ||
  die "$CHROMIUM is missing and this machine has no apt-get: install Chromium by hand and set CHROMIUM_PATH to it."
if [ "$(id -u)" != 0 ]; then
  die "$CHROMIUM is missing. Install Debian's browser as root, then run this again:
    sudo apt-get update && sudo apt-get install -y chromium"
fi

say "installing Debian's chromium (apt-get update && apt-get install -y chromium)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || die "apt-get update failed: check the machine's Debian mirrors (/etc/apt/sources.list*)."
apt-get install -y -q chromium >/dev/null ||
  die "apt-get install -y chromium failed (see the output above); no browser, so the browser test cannot run."
[ -x "$CHROMIUM" ] && works || die "chromium was installed but $CHROMIUM does not start."
say "installed $("$CHROMIUM" --version 2>/dev/null | head -n1) at $CHROMIUM"
