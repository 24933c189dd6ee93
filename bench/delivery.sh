#!/usr/bin/env bash
# delivery.sh: hikyaku's delivery engine against the protocol ceiling and
# against Postfix, all sending to one Postfix smtp-sink on loopback
# (issue 3, "Speed"):
#
#   a. ceiling: smtp-source -s CONCURRENCY -m MESSAGES -l SIZE straight into
#      the sink (one session per message, as smtp-source does).
#   b. hikyaku: a fresh data_dir whose relay queue holds MESSAGES queued
#      messages (bench/cmd/queuefill, through queue.Store.Add), spread over
#      DOMAINS domains d0.test ... whose MX, in a fake DNS, is the sink's
#      address; `hikyaku serve` is timed from its start until the queue
#      directory is empty. Every message must come out as a 250 in
#      hikyaku_delivery_results_total and nothing else.
#   c. Postfix: a private instance (bench/postfix-ref.sh) relaying the same
#      number of messages, to the same domains, to the sink through
#      relayhost = [sink]:port. It is filled while held (defer_transports =
#      smtp), then released and timed from `postqueue -f` until its queue is
#      empty; its log must show MESSAGES status=sent.
#
# RUNS runs of each, interleaved; median messages/s, connections opened
# (sessions counted by smtp-sink -c), hikyaku's peak RSS (VmHWM) and CPU
# seconds of hikyaku and of the sink.
#
# Environment: MESSAGES (20000) RUNS (3) SIZE (1024) CONCURRENCY (20, the
# smtp-source sessions) DOMAINS (100; 0 = everything to u@sink.test)
# HK_CONCURRENCY (delivery.concurrency, 20) HK_PER_HOST (delivery.per_host,
# 20) HK_MPC (delivery.messages_per_connection, 100) HK_IDLE
# (delivery.idle_timeout, 5s) HK_LOG_LEVEL (info) SINK_IP (127.0.0.2)
# SKIP_POSTFIX=1 SKIP_CEILING=1 (leave a part out while tuning)
# SINK_PORT DNS_PORT PF_PORT HK_PORT HK_HTTP (default: free loopback ports)
# BENCH_TMPDIR (/tmp) KEEP=1 keeps the work directory.
# Quick mode: QUICK=1 (RUNS=1 MESSAGES=2000) bench/delivery.sh
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${QUICK:-0} == 1 ]]; then
	MESSAGES=${MESSAGES:-2000}
	RUNS=${RUNS:-1}
fi
MESSAGES=${MESSAGES:-20000}
RUNS=${RUNS:-3}
SIZE=${SIZE:-1024}
CONCURRENCY=${CONCURRENCY:-20}
DOMAINS=${DOMAINS:-100}
HK_CONCURRENCY=${HK_CONCURRENCY:-20}
HK_PER_HOST=${HK_PER_HOST:-20}
HK_MPC=${HK_MPC:-100}
HK_IDLE=${HK_IDLE:-5s}
SINK_IP=${SINK_IP:-127.0.0.2}
SKIP_POSTFIX=${SKIP_POSTFIX:-0}
SKIP_CEILING=${SKIP_CEILING:-0}
SMTP_SOURCE=/usr/sbin/smtp-source
SMTP_SINK=/usr/sbin/smtp-sink

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
read -r p1 p2 p3 p4 p5 < <(free_ports 5)
SINK_PORT=${SINK_PORT:-$p1}
DNS_PORT=${DNS_PORT:-$p2}
PF_PORT=${PF_PORT:-$p3}
HK_PORT=${HK_PORT:-$p4}
HK_HTTP=${HK_HTTP:-$p5}
SINK=$SINK_IP:$SINK_PORT

"$ROOT/scripts/setup-test-deps" >&2

WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/hikyaku-delivery.XXXXXX")
chmod 755 "$WORK"
SINK_PID='' DNS_PID=''
cleanup() {
	local rc=$? pid
	hk_stop "$WORK/hk" 2>/dev/null || true
	pfref_stop "$WORK/postfix" 2>/dev/null || true
	for pid in $SINK_PID $DNS_PID; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${KEEP:-0} == 1 || $rc -ne 0 ]]; then
		echo "delivery.sh: work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "delivery.sh: FAIL: $*" >&2
	exit 1
}

ulimit -n "$(ulimit -Hn)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${load_start%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
	echo "delivery.sh: warning: load average $load_start on $(nproc) cores; figures will be noisy" >&2
fi

echo "building..." >&2
mkdir -p "$WORK/bin"
for cmd in cmd/hikyaku bench/cmd/fakedns bench/cmd/queuefill; do
	(cd "$ROOT" && go build -o "$WORK/bin/" "./$cmd") || fail "go build ./$cmd"
done
HK_BIN=$WORK/bin/hikyaku

rate() { awk -v m="$1" -v s="$2" 'BEGIN { printf "%.0f\n", m / s }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

# cpu_secs PID: user+system CPU seconds the process has used so far.
cpu_secs() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}

# busy_ticks: non-idle and total jiffies of the whole machine, for the
# share of all cores a phase kept busy.
busy_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
busy_pct() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { printf "%.0f\n", 100 * (c - a) / (d - b) }'; }

# --- the sink and the fake DNS -------------------------------------------

# -c: counters (sess, quit, mesg) on stdout at every session end, QUIT and
# final dot; backlog 1024 so no connect waits on accept. Everything is
# accepted, nothing is written to disk.
"$SMTP_SINK" -u postfix -c "$SINK" 1024 >"$WORK/sink.out" 2>"$WORK/sink.err" &
SINK_PID=$!
wait_port "$SINK_IP" "$SINK_PORT" 10 || fail "smtp-sink did not start: $(cat "$WORK/sink.err")"

# sink_counts: "SESS MESG" as the sink last printed them.
sink_counts() {
	tail -c 300 "$WORK/sink.out" | tr '\r' '\n' | awk '/^sess=/ { s = $1; m = $3 } END { sub(/.*=/, "", s); sub(/.*=/, "", m); print s + 0, m + 0 }'
}

# sink_settle: the counters have stopped moving (sessions end a little
# after the client is done: QUIT, idle connections closed).
sink_settle() {
	local a b i
	a=$(sink_counts)
	for ((i = 0; i < 50; i++)); do
		sleep 0.2
		b=$(sink_counts)
		[[ $a == "$b" ]] && return 0
		a=$b
	done
}

{
	echo "\$TTL 3600"
	echo 'test. IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60'
	echo "mx.sink.test. IN A $SINK_IP"
	echo 'sink.test. IN MX 10 mx.sink.test.'
	for ((d = 0; d < DOMAINS; d++)); do
		echo "d$d.test. IN MX 10 mx.sink.test."
	done
} >"$WORK/zone.txt"
"$WORK/bin/fakedns" -listen "127.0.0.1:$DNS_PORT" -zone "$WORK/zone.txt" >"$WORK/fakedns.log" 2>&1 &
DNS_PID=$!
wait_port 127.0.0.1 "$DNS_PORT" 10 || fail "fakedns did not start: $(cat "$WORK/fakedns.log")"

# --- a. the ceiling ------------------------------------------------------

# ceiling_run N: one smtp-source run into the sink. Sets RUN_SECS,
# RUN_SESS, RUN_MESG (sink counter deltas), RUN_BUSY (% of all cores).
ceiling_run() {
	local n=$1 s0 m0 s1 m1 t0 t1 c0 c1 rc=0
	read -r s0 m0 < <(sink_counts)
	c0=$(busy_ticks)
	t0=$(now)
	"$SMTP_SOURCE" -s "$CONCURRENCY" -m "$MESSAGES" -l "$SIZE" \
		-f s@example.test -t u@sink.test "$SINK" \
		>"$WORK/source-$n.out" 2>"$WORK/source-$n.err" || rc=$?
	t1=$(now)
	c1=$(busy_ticks)
	if ((rc != 0)) || [[ -s $WORK/source-$n.err ]]; then
		head -n 20 "$WORK/source-$n.err" >&2
		fail "smtp-source run $n exited $rc"
	fi
	sink_settle
	read -r s1 m1 < <(sink_counts)
	# shellcheck disable=SC2086
	RUN_SECS=$(secs "$t0" "$t1") RUN_SESS=$((s1 - s0)) RUN_MESG=$((m1 - m0)) RUN_BUSY=$(busy_pct $c0 $c1)
	((RUN_MESG >= MESSAGES)) || fail "ceiling run $n: the sink counted $RUN_MESG messages, want $MESSAGES"
}

# --- b. hikyaku ------------------------------------------------------------

hk_config() {
	local dir=$1
	mkdir -p "$dir/data"
	cat >"$dir/hikyaku.toml" <<EOF
# written by bench/delivery.sh
hostname = "mx.example.test"
data_dir = "$dir/data"
log_level = "$HK_LOG_LEVEL"

[smtp]
listen = ["127.0.0.1:$HK_PORT"]

[local]
domains = ["example.test"]

[relay]
networks = ["127.0.0.0/8"]

[http]
listen = "127.0.0.1:$HK_HTTP"

[delivery]
dns_servers = ["127.0.0.1:$DNS_PORT"]
smtp_port = $SINK_PORT
loop_addresses = ["127.0.0.254"]
concurrency = $HK_CONCURRENCY
per_host = $HK_PER_HOST
messages_per_connection = $HK_MPC
idle_timeout = "$HK_IDLE"
timeout = "30s"
dot_timeout = "30s"
EOF
	echo "$HK_PORT" >"$dir/port"
	echo "$HK_HTTP" >"$dir/http"
}

# metric_sum DIR NAME [REGEX]: sum of every series of NAME whose labels
# match REGEX (python's re.search on the text inside the braces).
metric_sum() {
	python3 - "$(cat "$1/http")" "$2" "${3:-}" <<'EOF'
import re, sys, urllib.request
port, name, rx = sys.argv[1], sys.argv[2], sys.argv[3]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
body = opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
total = 0.0
for line in body.splitlines():
    m = re.match(r"^" + re.escape(name) + r"(\{(.*)\})? (\S+)$", line)
    if m and re.search(rx, m.group(2) or ""):
        total += float(m.group(3))
print(f"{total:.0f}")
EOF
}

# codes_seen DIR: "code=count ..." of every delivery result so far.
codes_seen() {
	python3 - "$(cat "$1/http")" <<'EOF'
import collections, re, sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
body = opener.open(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
c = collections.Counter()
for m in re.finditer(r'^hikyaku_delivery_results_total\{code="(\d+)",domain="[^"]*"\} (\S+)$', body, re.M):
    c[m.group(1)] += float(m.group(2))
print(" ".join(f"{k}={v:.0f}" for k, v in sorted(c.items())) or "none")
EOF
}

queue_left() { find "$1" -maxdepth 1 -name '*.json' | wc -l; }
queue_any() { [[ -n $(find "$1" -maxdepth 1 -name '*.json' -print -quit) ]]; }

# hk_run N: fill a fresh data_dir, start hikyaku, time until the relay queue
# is empty. Sets RUN_SECS, RUN_SESS, RUN_MESG, RUN_BUSY, RUN_T99 (seconds
# until 99% were gone), RUN_HWM (KiB), RUN_CPU (hikyaku CPU s), RUN_SINKCPU.
hk_run() {
	local n=$1 dir=$WORK/hk q s0 m0 s1 m1 t0 t1 c0 c1 k0 pid i left ok250 all limit
	rm -rf "$dir"
	hk_config "$dir"
	q=$dir/data/queue
	"$WORK/bin/queuefill" -dir "$q" -n "$MESSAGES" -size "$SIZE" -domains "$DOMAINS" 2>>"$WORK/queuefill.log" ||
		fail "queuefill run $n: $(tail -n 3 "$WORK/queuefill.log")"
	left=$(queue_left "$q")
	((left == MESSAGES)) || fail "queuefill left $left queue items, want $MESSAGES"
	sync
	read -r s0 m0 < <(sink_counts)
	k0=$(cpu_secs "$SINK_PID")
	c0=$(busy_ticks)
	t0=$(now)
	echo "=== serve started $(date -u +%FT%T.%NZ)" >>"$dir/hikyaku.log"
	"$HK_BIN" serve --config "$dir/hikyaku.toml" </dev/null >>"$dir/hikyaku.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/hikyaku.pid"
	RUN_T99=
	limit=$((MESSAGES / 20 + 120)) # seconds: far beyond any sane rate
	for ((i = 0; ; i++)); do
		kill -0 "$pid" 2>/dev/null || fail "hikyaku exited during run $n; log: $dir/hikyaku.log"
		queue_any "$q" || break
		if ((i % 10 == 0)); then
			left=$(queue_left "$q")
			if [[ -z $RUN_T99 ]] && ((left * 100 <= MESSAGES)); then
				RUN_T99=$(secs "$t0" "$(now)")
			fi
			if (($(date +%s) - ${t0%.*} > limit)); then
				echo "delivery results so far: $(codes_seen "$dir")" >&2
				fail "hikyaku run $n: $left of $MESSAGES still queued after ${limit}s; log: $dir/hikyaku.log"
			fi
		fi
		sleep 0.1
	done
	t1=$(now)
	c1=$(busy_ticks)
	RUN_T99=${RUN_T99:-$(secs "$t0" "$t1")}
	RUN_HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	RUN_CPU=$(cpu_secs "$pid")
	ok250=$(metric_sum "$dir" hikyaku_delivery_results_total 'code="250"')
	all=$(metric_sum "$dir" hikyaku_delivery_results_total)
	hk_stop "$dir" # closes the pooled connections (QUIT), so the sink counts them
	sink_settle
	read -r s1 m1 < <(sink_counts)
	RUN_SINKCPU=$(awk -v a="$k0" -v b="$(cpu_secs "$SINK_PID")" 'BEGIN { printf "%.2f\n", b - a }')
	# shellcheck disable=SC2086
	RUN_SECS=$(secs "$t0" "$t1") RUN_SESS=$((s1 - s0)) RUN_MESG=$((m1 - m0)) RUN_BUSY=$(busy_pct $c0 $c1)

	if ((ok250 != MESSAGES || all != MESSAGES)); then
		fail "hikyaku run $n: $ok250 results with code 250 and $all in all, want $MESSAGES and $MESSAGES ($(grep -c . "$dir/data/log/mail.log" 2>/dev/null || echo 0) mail log lines)"
	fi
	((RUN_MESG >= MESSAGES)) || fail "hikyaku run $n: the sink counted $RUN_MESG messages, want $MESSAGES"
	[[ -z $(find "$q" -maxdepth 1 -type f -print -quit) ]] || fail "hikyaku run $n: files left in $q: $(find "$q" -maxdepth 1 -type f | head -n 5)"
	if grep -qE '^panic: |^fatal error: |level=ERROR' "$dir/hikyaku.log"; then
		grep -m 5 -E '^panic: |^fatal error: |level=ERROR' "$dir/hikyaku.log" >&2
		fail "hikyaku run $n logged errors; log: $dir/hikyaku.log"
	fi
	cp "$dir/hikyaku.log" "$WORK/hikyaku-$n.log"
}

# --- c. Postfix ------------------------------------------------------------

# pf_fill: inject MESSAGES into the held instance, split over the domains
# as queuefill does (or all to u@sink.test), and wait until every one sits
# in the deferred queue.
pf_fill() {
	local dir=$WORK/postfix want i d per extra m pids=()
	want=$(($(pfref_queue_count "$dir" deferred) + MESSAGES))
	if ((DOMAINS == 0)); then
		"$SMTP_SOURCE" -s "$CONCURRENCY" -m "$MESSAGES" -l "$SIZE" -f s@example.test -t u@sink.test \
			"127.0.0.1:$PF_PORT" 2>>"$WORK/pf-fill.err" || fail "injecting into Postfix"
	else
		per=$((MESSAGES / DOMAINS)) extra=$((MESSAGES % DOMAINS))
		for ((d = 0; d < DOMAINS; d++)); do
			m=$((per + (d < extra ? 1 : 0)))
			((m > 0)) || continue
			"$SMTP_SOURCE" -s 10 -m "$m" -l "$SIZE" -f s@example.test -t "u@d$d.test" \
				"127.0.0.1:$PF_PORT" 2>>"$WORK/pf-fill.err" &
			pids+=($!)
			# Four at a time; a bare `wait` would wait for the sink too.
			if ((${#pids[@]} == 4)); then
				wait "${pids[@]}" || true
				pids=()
			fi
		done
		((${#pids[@]} == 0)) || wait "${pids[@]}" || true
	fi
	[[ ! -s $WORK/pf-fill.err ]] || fail "injecting into Postfix: $(head -n 5 "$WORK/pf-fill.err")"
	for ((i = 0; i < 1200; i++)); do
		if (($(pfref_queue_count "$dir" deferred) >= want)) &&
			(($(pfref_queue_count "$dir" incoming) + $(pfref_queue_count "$dir" active) == 0)); then
			return 0
		fi
		sleep 0.25
	done
	fail "Postfix: $(pfref_queue_count "$dir" deferred) deferred, want $want"
}

# pf_run N: fill while held, release, time until the queue is empty.
pf_run() {
	local n=$1 dir=$WORK/postfix log s0 m0 s1 m1 t0 t1 c0 c1 sent0 sent1 i limit
	log=$(pfref_log "$dir")
	pfref_defer "$dir" on || fail "Postfix: defer_transports = smtp"
	pf_fill
	pfref_defer "$dir" off || fail "Postfix: lifting defer_transports"
	sent0=$(grep -c " relay=[^ ]*$SINK_IP\]:$SINK_PORT,.* status=sent " "$log" || true)
	read -r s0 m0 < <(sink_counts)
	c0=$(busy_ticks)
	t0=$(now)
	postqueue -c "$dir/conf" -f || fail "postqueue -f"
	limit=$((MESSAGES / 20 + 120))
	for ((i = 0; ; i++)); do
		pfref_queue_empty "$dir" && break
		if ((i % 10 == 0)) && (($(date +%s) - ${t0%.*} > limit)); then
			fail "Postfix run $n: queue not empty after ${limit}s ($(pfref_queue_count "$dir" deferred) deferred); log: $log"
		fi
		sleep 0.1
	done
	t1=$(now)
	c1=$(busy_ticks)
	sleep 2.5 # smtp_connection_cache_time_limit: cached sessions close
	sink_settle
	read -r s1 m1 < <(sink_counts)
	sent1=$(grep -c " relay=[^ ]*$SINK_IP\]:$SINK_PORT,.* status=sent " "$log" || true)
	# shellcheck disable=SC2086
	RUN_SECS=$(secs "$t0" "$t1") RUN_SESS=$((s1 - s0)) RUN_MESG=$((m1 - m0)) RUN_BUSY=$(busy_pct $c0 $c1)
	((sent1 - sent0 == MESSAGES)) || fail "Postfix run $n: $((sent1 - sent0)) status=sent, want $MESSAGES; log: $log"
	((RUN_MESG >= MESSAGES)) || fail "Postfix run $n: the sink counted $RUN_MESG messages, want $MESSAGES"
}

if [[ $SKIP_POSTFIX != 1 ]]; then
	pfref_start "$WORK/postfix" "$PF_PORT"
	pfref_relay "$WORK/postfix" "[$SINK_IP]:$SINK_PORT" || fail "Postfix relay configuration"
fi

echo "$MESSAGES messages of $SIZE octets, $RUNS run(s) each; sink $SINK" >&2
ceil_rates=() ceil_sess=() hk_rates=() hk_sess=() hk_t99=() hk_hwm=() hk_cpu=() hk_sinkcpu=() hk_busy=() pf_rates=() pf_sess=()
ceil_busy=() pf_busy=()
for ((r = 1; r <= RUNS; r++)); do
	if [[ $SKIP_CEILING != 1 ]]; then
		ceiling_run "$r"
		ceil_rates+=("$(rate "$MESSAGES" "$RUN_SECS")") ceil_sess+=("$RUN_SESS") ceil_busy+=("$RUN_BUSY")
		echo "  run $r ceiling: ${RUN_SECS}s ${ceil_rates[-1]} msgs/s, $RUN_SESS sessions, cores ${RUN_BUSY}% busy" >&2
	fi

	hk_run "$r"
	hk_rates+=("$(rate "$MESSAGES" "$RUN_SECS")") hk_sess+=("$RUN_SESS") hk_t99+=("$RUN_T99")
	hk_hwm+=("$RUN_HWM") hk_cpu+=("$RUN_CPU") hk_sinkcpu+=("$RUN_SINKCPU") hk_busy+=("$RUN_BUSY")
	echo "  run $r hikyaku: ${RUN_SECS}s ${hk_rates[-1]} msgs/s (99% gone after ${RUN_T99}s), $RUN_SESS connections," \
		"VmHWM $RUN_HWM KiB, CPU hikyaku ${RUN_CPU}s sink ${RUN_SINKCPU}s, cores ${RUN_BUSY}% busy" >&2

	if [[ $SKIP_POSTFIX != 1 ]]; then
		pf_run "$r"
		pf_rates+=("$(rate "$MESSAGES" "$RUN_SECS")") pf_sess+=("$RUN_SESS") pf_busy+=("$RUN_BUSY")
		echo "  run $r postfix: ${RUN_SECS}s ${pf_rates[-1]} msgs/s, $RUN_SESS connections, cores ${RUN_BUSY}% busy" >&2
	fi
done

med() { if (($# > 0)); then median "$@"; else echo -; fi; }
ceil_med=$(med "${ceil_rates[@]}")
hk_med=$(med "${hk_rates[@]}")
pf_med=$(med "${pf_rates[@]}")
ratio() {
	[[ $1 == - || $2 == - ]] && { echo -; return; }
	awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { printf f, a / b }'
}
verdict() {
	[[ $1 == - ]] && { echo "not measured"; return; }
	awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t ? "met" : "NOT met") }'
}
hc=$(ratio "$hk_med" "$ceil_med" "%.2f")
hp=$(ratio "$hk_med" "$pf_med" "%.2f")
fs=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
row() { printf '  %-30s %-22s %7s  %-18s %s\n' "$@"; }
cat <<EOF

hikyaku delivery benchmark ($(nproc) cores, $(uname -r), $fs file system at $WORK)
load average at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)
$MESSAGES messages of $SIZE octets to smtp-sink at $SINK, ${DOMAINS} domains; median of $RUNS run(s)
hikyaku [delivery] concurrency=$HK_CONCURRENCY per_host=$HK_PER_HOST messages_per_connection=$HK_MPC idle_timeout=$HK_IDLE
$(row "" "msgs/s per run" median "connections" "cores busy %")
$(row "ceiling (smtp-source -s $CONCURRENCY)" "${ceil_rates[*]:--}" "$ceil_med" "${ceil_sess[*]:--}" "${ceil_busy[*]:--}")
$(row "hikyaku (queue -> sink)" "${hk_rates[*]}" "$hk_med" "${hk_sess[*]}" "${hk_busy[*]}")
$(row "Postfix (relayhost, defaults)" "${pf_rates[*]:--}" "$pf_med" "${pf_sess[*]:--}" "${pf_busy[*]:--}")
  hikyaku/ceiling: $hc (target >= 0.80: $(verdict "$hc" 0.80))
  hikyaku/Postfix: $hp (target >= 2: $(verdict "$hp" 2))
  hikyaku peak RSS (VmHWM): ${hk_hwm[*]} KiB
  hikyaku CPU seconds per run: ${hk_cpu[*]}; smtp-sink CPU seconds in those runs: ${hk_sinkcpu[*]}
  hikyaku seconds until 99% of the queue was gone: ${hk_t99[*]}
  every hikyaku run: $MESSAGES results with code 250 and no other, queue directory empty, sink counted them all
EOF
