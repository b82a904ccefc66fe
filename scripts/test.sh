#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and integration tests, the end-to-end tests
# with the real eBPF probe and real TLS clients (root needed: they fail without it), and the
# pipeline benchmark. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== cargo test"
# Live-capture tests serialise themselves; the rest run in parallel.
cargo test --workspace --locked

echo "== benchmark: userspace pipeline"
cargo bench --locked -p aisensor-decode --bench pipeline
