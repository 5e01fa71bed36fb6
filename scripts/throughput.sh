#!/usr/bin/env bash
# throughput.sh: streaming throughput of the networked engine (with the
# default window and with W=1, FLARE's stop-and-wait) next to a raw
# stop-and-wait streamer (one reused buffer per side: BenchmarkRaw*) and GNU
# `tail -F file > /dev/null`, in one run, on the same file system.
#
# Both read a file that a writer appends to as fast as it can, in chunks of
# 64 KiB and 1 MiB: for the engine, BenchmarkThroughput64K/1M (tailer ->
# loopback TCP -> receiver, writer in the same process); for tail, dd writes
# the file while tail -F follows it, and the clock stops when tail has read
# every byte (/proc/PID/io rchar). Both also run on a backlog (the file
# written first), which shows the reader's own speed.
#
#   scripts/throughput.sh [-n ROUNDS] [BYTES]   default 1 round of 1GiB per
#                                          run; e.g. -n 5 4GiB
#   TMPDIR=/dev/shm scripts/throughput.sh   the same on tmpfs
#   scripts/throughput.sh --tls [BYTES]    the engine over plain TCP and over
#                                          mutual TLS 1.3, 1 MiB chunks, no tail
#
# With -n ROUNDS every row runs ROUNDS times, the rows interleaved (round 1
# of every row, then round 2, ...), and the table shows the median, the
# lowest and the highest MiB/s, the median of the row's rate over the raw
# streamer's with the same chunk and file in the same round (x raw: rounds
# run minutes apart on a shared machine, the rows of one round seconds
# apart), and the median CPU time per GiB (the process's user and system
# time; for the engine and the raw streamer it includes the writer in the
# same process, for tail -F only tail). On a machine shared with other work
# the rate depends on the share of the CPUs a run got; its CPU time per GiB
# less.
set -euo pipefail
cd "$(dirname "$0")/.."
tls=0
rounds=1
if [ "${1:-}" = --tls ]; then tls=1; shift; fi
if [ "${1:-}" = -n ]; then rounds=$2; shift 2; fi
size=${1:-1GiB}
case $size in
*GiB) bytes=$(( ${size%GiB} << 30 )) ;;
*MiB) bytes=$(( ${size%MiB} << 20 )) ;;
*) bytes=$size ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fs=$(df -T "$work" | awk 'NR==2{print $2}')
echo "throughput: $size per run, $rounds round(s), file system $fs ($work), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# tail_run CHUNK BACKLOG: "MiB/s cpu-s/GiB" of tail -F reading $bytes
# appended in CHUNK writes.
tail_run() {
	local chunk=$1 backlog=$2 f="$work/tail.log" count start end pid rchar ticks
	count=$(( bytes / chunk ))
	rm -f "$f"; : > "$f"
	if [ "$backlog" = 1 ]; then
		dd if=/dev/zero of="$f" bs="$chunk" count="$count" status=none
	fi
	start=$(date +%s%N)
	tail -F -c +1 "$f" > /dev/null 2>&1 &
	pid=$!
	if [ "$backlog" = 0 ]; then
		dd if=/dev/zero of="$f" bs="$chunk" count="$count" conv=notrunc status=none
	fi
	while :; do
		rchar=$(awk '/^rchar/{print $2}' /proc/$pid/io)
		[ "$rchar" -ge "$bytes" ] && break
		sleep 0.005
	done
	end=$(date +%s%N)
	ticks=$(awk '{print $14+$15}' /proc/$pid/stat)
	kill $pid; wait $pid 2>/dev/null || true
	rm -f "$f"
	awk -v b="$bytes" -v ns=$(( end - start )) -v t="$ticks" -v hz="$(getconf CLK_TCK)" \
		'BEGIN{printf "%.1f %.3f", b/1048576/(ns/1e9), t/hz/(b/1073741824)}'
}

go test -c -o "$work/netengine.test" ./logstream/netengine/ >/dev/null
bench() { # NAME [TLS] -> "MiB/s cpu-s/GiB"; fails (with the benchmark's output) unless every byte arrived
	local out
	if ! out=$(cd "$work" && TMPDIR="$work" NETENGINE_BENCH_BYTES=$bytes NETENGINE_TLS=${2:-0} ./netengine.test -test.run '^$' \
		-test.bench "^Benchmark$1\$" -test.benchtime 1x 2>&1); then
		echo "benchmark $1 (TLS=${2:-0}) failed:" >&2
		echo "$out" >&2
		return 1
	fi
	echo "$out" | awk '/^Benchmark/{for(i=1;i<NF;i++){if($(i+1)=="MiB/s") r=$i; if($(i+1)=="cpu-s/GiB") c=$i}} END{print r, c}'
}

if [ "$tls" = 1 ]; then
	# Each run fails unless every byte arrives (the benchmark checks the count).
	printf '%-26s %-8s %12s\n' "transport" "chunk" "MiB/s"
	for mode in appending backlog; do
		[ $mode = appending ] && b=Throughput1M || b=Backlog1M
		plain=$(bench $b 0)
		printf '%-26s %-8s %12s\n' "plain TCP ($mode)" 1M "${plain% *}"
		secure=$(bench $b 1)
		printf '%-26s %-8s %12s\n' "mutual TLS 1.3 ($mode)" 1M "${secure% *}"
	done
	exit 0
fi
# rows: label, chunk, how to run it, the index of the raw streamer's row
# with the same chunk and file
rows=()
for chunk in 64K 1M; do
	[ "$chunk" = 64K ] && c=65536 || c=1048576
	a=$(( ${#rows[@]} + 2 )) b=$(( ${#rows[@]} + 6 ))
	rows+=("netengine W=32 (appending)|$chunk|bench Throughput$chunk|$a"
		"netengine W=1 (appending)|$chunk|bench Throughput${chunk}W1|$a"
		"raw stop-and-wait (appending)|$chunk|bench Raw$chunk|$a"
		"tail -F (appending)|$chunk|tail_run $c 0|$a"
		"netengine W=32 (backlog)|$chunk|bench Backlog$chunk|$b"
		"netengine W=1 (backlog)|$chunk|bench Backlog${chunk}W1|$b"
		"raw stop-and-wait (backlog)|$chunk|bench RawBacklog$chunk|$b"
		"tail -F (backlog)|$chunk|tail_run $c 1|$b")
done
results="$work/results"
: > "$results"
for r in $(seq "$rounds"); do
	for i in "${!rows[@]}"; do
		IFS='|' read -r label chunk cmd ref <<< "${rows[$i]}"
		[ "$rounds" = 1 ] || echo "round $r/$rounds: $label $chunk" >&2
		echo "$i $($cmd) $r" >> "$results"
	done
done
printf '%-30s %-8s %12s %19s %6s %10s\n' "reader" "chunk" "MiB/s" "(min-max)" "x raw" "cpu-s/GiB"
med() { awk '{v[NR]=$1} END{if(NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}' "$1"; }
for i in "${!rows[@]}"; do
	IFS='|' read -r label chunk cmd ref <<< "${rows[$i]}"
	awk -v i="$i" '$1==i{print $2}' "$results" | sort -g > "$work/rate"
	awk -v i="$i" '$1==i{print $3}' "$results" | sort -g > "$work/cpu"
	awk -v i="$i" -v ref="$ref" '$1==ref{raw[$4]=$2} $1==i{own[$4]=$2} END{for(r in own) if(raw[r]>0) printf "%.2f\n", own[r]/raw[r]}' \
		"$results" | sort -g > "$work/ratio"
	printf '%-30s %-8s %12s %19s %6s %10s\n' "$label" "$chunk" "$(med "$work/rate")" \
		"($(head -1 "$work/rate")-$(tail -1 "$work/rate"))" "$(med "$work/ratio")" "$(med "$work/cpu")"
done
