#!/usr/bin/env bash
# Installs what building and testing aisensor needs on Debian/Ubuntu, if it is missing:
# clang (BPF target), libbpf headers, bpftool, and the TLS clients the tests drive.
# Idempotent: installs nothing when everything is there.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }

if ! have clang-19 && ! have clang; then need+=(clang-19 llvm-19); fi
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
have bpftool || need+=(bpftool)
have curl || need+=(curl)
have python3 || need+=(python3)
have node || need+=(nodejs)
have npm || need+=(npm)
have cc || need+=(gcc)
[ -f /usr/include/linux/bpf.h ] || need+=(linux-libc-dev)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # clang-19 is in Debian 12; fall back to the distribution's default clang elsewhere.
  if ! $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; then
    alt=()
    for p in "${need[@]}"; do
      case "$p" in clang-19) alt+=(clang) ;; llvm-19) alt+=(llvm) ;; *) alt+=("$p") ;; esac
    done
    $SUDO apt-get install -y -qq "${alt[@]}" >/dev/null
  fi
fi

# The end-to-end tests also drive the official OpenAI, Anthropic and Gemini Python SDKs, at
# the versions tests/clients/requirements.txt pins (pip checks what is installed first, and
# asks the index only for what is missing).
reqs="$(cd "$(dirname "$0")/.." && pwd)/tests/clients/requirements.txt"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r "$reqs"

# ... and the official OpenAI, Anthropic and Gemini Node.js SDKs, at the versions
# package-lock.json pins (again when the lock is newer than the installed tree).
sdk="$(cd "$(dirname "$0")/.." && pwd)/tests/clients/node-sdk"
if [ ! -d "$sdk/node_modules" ] || [ "$sdk/package-lock.json" -nt "$sdk/node_modules/.package-lock.json" ]; then
  echo "setup: installing the official Node.js SDKs (for the end-to-end tests)" >&2
  (cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

if ! have cargo; then
  echo "setup: cargo is missing: install a Rust toolchain (1.85 or newer), e.g. with rustup" >&2
  exit 1
fi
