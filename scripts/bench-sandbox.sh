#!/usr/bin/env bash
#
# scripts/bench-sandbox.sh — the sandbox's figures for docs/PERFORMANCE.md: the cost of
# one jail start and 35 simultaneous submissions of a 10-test exercise (time to the last
# result, p50/p95 per submission, memory). Runs the jail directly (crate nexus-sandbox,
# release build), not through HTTP: the API adds a database write per submission.
#
#   SUBMISSIONS=35 scripts/bench-sandbox.sh
set -euo pipefail

NEXUS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/provision.sh disable=SC1091
source "$NEXUS_ROOT/scripts/lib/provision.sh"
ensure_packages bubblewrap python3 gcc libc6-dev
cd "$NEXUS_ROOT"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r); $(date -u +%Y-%m-%dT%H:%MZ)"
cargo run --release --locked -q -p nexus-sandbox --example bench
