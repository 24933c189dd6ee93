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
#      address; `hikyaku serve` is timed from its start until every
#      message has its result in hikyaku_delivery_results_total and the
#      relay queue is empty. Every result must be a 250 and nothing else.
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

bench_init delivery.sh delivery

echo "building..." >&2
mkdir -p "$WORK/bin"
for cmd in cmd/hikyaku bench/cmd/fakedns bench/cmd/queuefill; do
	(cd "$ROOT" && go build -o "$WORK/bin/" "./$cmd") || fail "go build ./$cmd"
done
HK_BIN=$WORK/bin/hikyaku

# --- the sink and the fake DNS -------------------------------------------

sink_start "$SINK_IP" "$SINK_PORT"
fakedns_start "$DNS_PORT" "$SINK_IP" "$DOMAINS"

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

# --- b. hikyaku: hk_drain_run in bench/lib.sh -------------------------------

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

	hk_drain_run "$r"
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
  every hikyaku run: $MESSAGES results with code 250 and no other, relay queue empty, sink counted them all
EOF
