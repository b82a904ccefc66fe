#!/usr/bin/env bash
# Live capture as a user runs it: installs what is missing, builds the plugins in release
# mode, then hosts them (the same .so files Falco loads) and prints AI events as they happen.
# Needs root (or CAP_BPF + CAP_PERFMON). Extra arguments go to `aisensor watch`
# (e.g. --json, --record FILE, --seconds N).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release --locked -p aisensor-cli -p aisensor-plugin-source -p aisensor-plugin-extract
if [ "$(id -u)" -ne 0 ]; then
  echo "watch: live capture loads an eBPF probe: run as root (sudo $0)" >&2
  exit 1
fi
exec target/release/aisensor watch "$@"
