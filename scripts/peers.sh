#!/usr/bin/env bash
# peers.sh: lines lost, duplicated and reordered by this project's streamer
# at the README's defaults, GNU `tail -F` and nxadm/tail, each following the
# same file through the same rotator workload (lumberjack, Python's
# RotatingFileHandler, logrotate create and copytruncate), judged by the same
# line checker (live.Check). See live.TestPeers.
#
# nxadm/tail is built from the Go module proxy as tools/nxtail (its own
# module, -tags peers). Needs logrotate and python3 (.ci/run installs
# logrotate).
#
#   scripts/peers.sh [RUNS]     each workload RUNS times (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd tools/nxtail && go build -tags peers -o "$work/nxtail" .)
echo "peers: $(tail --version | head -1), nxadm/tail $(cd tools/nxtail && go list -m -f '{{.Version}}' github.com/nxadm/tail), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
NXTAIL="$work/nxtail" go test -count="$runs" -run 'TestPeers' -v ./live/ -live -peers |
	tee "$work/out" | grep -E '^\s+peers_test.go:[0-9]+: peers:' | sed -E 's/^\s+peers_test.go:[0-9]+: //'
grep -qE '^(ok|PASS)' "$work/out" || { cat "$work/out"; exit 1; }
