#!/usr/bin/env bash
# receiver.sh: hikyaku's receiver against Postfix on the same machine, the
# same file system and the same load (Postfix's own smtp-source):
#
#   1. throughput: smtp-source -s CONCURRENCY -m MESSAGES -l SIZE, RUNS runs
#      per server, interleaved, median messages/s and the ratio
#      hikyaku/postfix. Every hikyaku run must leave exactly MESSAGES new
#      files in alice's Maildir.
#   2. latency: a probe sends messages one by one alongside one more
#      smtp-source run and times final dot -> 250 (p50, p99), both servers.
#   3. TLS: benchclient load (smtp-source has no STARTTLS), TLS_MESSAGES
#      messages over CONCURRENCY sessions, plain vs STARTTLS at 10 and at 1
#      message per connection (the handshake paid per connection; at 1 also
#      with TLS session resumption, as MTAs with a session cache do), the mean
#      STARTTLS step, and the AUTH PLAIN check time (argon2id) over
#      AUTH_CONNS authenticated connections made one after another, so
#      that it is the hash cost and not the wait for a hash slot.
#   4. memory: a fresh hikyaku holds SESSIONS idle sessions (greeted, EHLO
#      done); VmRSS before and after, KiB per session.
#
# Postfix delivers to its discard transport; both acknowledge only after
# fsync (Postfix's cleanup fsyncs its queue file by default).
#
# Environment: MESSAGES (20000) RUNS (3) SESSIONS (10000) CONCURRENCY (20)
# SIZE (1024) WARMUP (2000 unmeasured messages first; 0: none)
# TLS_MESSAGES (MESSAGES/4, at least 1000) AUTH_CONNS (20)
# PF_PORT HK_PORT HK_HTTP (default: free loopback ports)
# BENCH_TMPDIR (/tmp) KEEP=1 keeps the work directory.
# Quick mode: MESSAGES=2000 RUNS=1 SESSIONS=1000 bench/receiver.sh
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MESSAGES=${MESSAGES:-20000}
RUNS=${RUNS:-3}
SESSIONS=${SESSIONS:-10000}
CONCURRENCY=${CONCURRENCY:-20}
SIZE=${SIZE:-1024}
WARMUP=${WARMUP:-2000}
TLS_MESSAGES=${TLS_MESSAGES:-$((MESSAGES / 4 > 1000 ? MESSAGES / 4 : 1000))}
AUTH_CONNS=${AUTH_CONNS:-20}
SMTP_SOURCE=/usr/sbin/smtp-source

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
read -r p1 p2 p3 < <(free_ports 3)
PF_PORT=${PF_PORT:-$p1}
HK_PORT=${HK_PORT:-$p2}
HK_HTTP=${HK_HTTP:-$p3}

"$ROOT/scripts/setup-test-deps" >&2

CLIENT_PIDS=()
bench_on_exit() {
	local pid
	for pid in "${CLIENT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}

# Room for the idle sessions on both ends plus the load.
need_fds=$((SESSIONS + 4096))
if (($(ulimit -Hn) < need_fds)); then
	ulimit -n "$need_fds" 2>/dev/null || true
fi
bench_init receiver.sh bench
if (($(ulimit -n) < need_fds)); then
	echo "receiver.sh: open-file limit $(ulimit -n) is below $need_fds; SESSIONS lowered" >&2
	SESSIONS=$(($(ulimit -n) - 4096))
fi

echo "building..." >&2
bench_build "$ROOT" "$WORK/bin"
HK_BIN=$WORK/bin/hikyaku
BC=$WORK/bin/benchclient

pfref_start "$WORK/postfix" "$PF_PORT"
hk_write_config "$WORK/hk" "$HK_PORT" "$HK_HTTP" $((SESSIONS + 500))
hk_start "$WORK/hk"

# source_run PORT LABEL: one smtp-source run; prints its seconds. Any
# output on stderr or a non-zero exit is a failed run.
source_run() {
	local port=$1 label=$2 t0 t1 rc=0
	t0=$(now)
	"$SMTP_SOURCE" -s "$CONCURRENCY" -m "$MESSAGES" -l "$SIZE" \
		-f sender@example.test -t alice@example.test "127.0.0.1:$port" \
		>"$WORK/source-$label.out" 2>"$WORK/source-$label.err" || rc=$?
	t1=$(now)
	if ((rc != 0)) || [[ -s $WORK/source-$label.err ]]; then
		echo "smtp-source against $label exited $rc:" >&2
		head -n 20 "$WORK/source-$label.err" >&2
		return 1
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

wait_postfix_idle() {
	local i
	for ((i = 0; i < 600; i++)); do
		pfref_queue_empty "$WORK/postfix" && return 0
		sleep 0.1
	done
	fail "Postfix queue did not drain in 60s"
}

rate() { awk -v m="$1" -v s="$2" 'BEGIN { printf "%.0f\n", m / s }'; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# check_hikyaku_healthy: the server is up and has logged no error, no panic
# (recovered or not).
check_hikyaku_healthy() {
	hk_alive "$WORK/hk" || fail "hikyaku died; log: $WORK/hk/hikyaku.log"
	if grep -qE '^panic: |^fatal error: |level=ERROR' "$WORK/hk/hikyaku.log"; then
		grep -m 5 -E '^panic: |^fatal error: |level=ERROR' "$WORK/hk/hikyaku.log" >&2
		fail "hikyaku logged errors; log: $WORK/hk/hikyaku.log"
	fi
	local p
	p=$(metric "$WORK/hk" hikyaku_panics_recovered_total)
	[[ ${p:-0} == 0 ]] || fail "hikyaku recovered $p panics; log: $WORK/hk/hikyaku.log"
}

# hk_load LABEL: one measured smtp-source run against hikyaku, then waits
# until the Maildir holds exactly MESSAGES more messages. Sets HK_SECS and
# HK_DRAIN (seconds from the last 250 until the Maildir was complete).
HK_EXPECT=0
hk_load() {
	local label=$1 t_end n
	HK_SECS=$(source_run "$HK_PORT" "$label") || fail "hikyaku run $label had errors"
	t_end=$(now)
	HK_EXPECT=$((HK_EXPECT + MESSAGES))
	n=$(wait_maildir "$WORK/hk" "$HK_EXPECT" 300) ||
		fail "hikyaku run $label: Maildir holds $n messages, want $HK_EXPECT"
	HK_DRAIN=$(awk -v a="$t_end" -v b="$(now)" 'BEGIN { printf "%.1f\n", b - a }')
	check_hikyaku_count "$label"
}

# check_hikyaku_count LABEL: exactly HK_EXPECT, a little after reaching it,
# so late duplicates show.
check_hikyaku_count() {
	local n
	sleep 0.5
	n=$(maildir_count "$WORK/hk")
	((n == HK_EXPECT)) || fail "hikyaku $1: Maildir holds $n messages, want exactly $HK_EXPECT"
	check_hikyaku_healthy
}

# Warm-up, not measured: Postfix's first run otherwise pays for spawning its
# smtpd and cleanup processes and creating its queue hash directories.
if ((WARMUP > 0)); then
	echo "warm-up: $WARMUP messages to each" >&2
	M=$MESSAGES
	MESSAGES=$WARMUP
	source_run "$PF_PORT" postfix-warmup >/dev/null || fail "postfix warm-up had errors"
	hk_load hikyaku-warmup
	MESSAGES=$M
fi

echo "throughput: smtp-source -s $CONCURRENCY -m $MESSAGES -l $SIZE, $RUNS run(s) each" >&2
pf_rates=() hk_rates=() hk_drain=()
for ((r = 1; r <= RUNS; r++)); do
	wait_postfix_idle
	s=$(source_run "$PF_PORT" "postfix-$r") || fail "postfix run $r had errors"
	pf_rates+=("$(rate "$MESSAGES" "$s")")
	echo "  run $r postfix: ${s}s ${pf_rates[-1]} msgs/s" >&2

	hk_load "hikyaku-$r"
	hk_rates+=("$(rate "$MESSAGES" "$HK_SECS")")
	hk_drain+=("$HK_DRAIN")
	echo "  run $r hikyaku: ${HK_SECS}s ${hk_rates[-1]} msgs/s (Maildir complete ${HK_DRAIN}s after the last 250)" >&2
done
pf_med=$(median "${pf_rates[@]}")
hk_med=$(median "${hk_rates[@]}")

# probe_under_load PORT LABEL: runs the probe alongside one smtp-source
# run; sets PROBE to the probe's summary line.
probe_under_load() {
	local port=$1 label=$2 ppid rc=0
	"$BC" probe -addr "127.0.0.1:$port" -size "$SIZE" >"$WORK/probe-$label.out" 2>&1 &
	ppid=$!
	CLIENT_PIDS+=("$ppid")
	sleep 0.3
	source_run "$port" "latency-$label" >/dev/null || rc=1
	kill -TERM "$ppid" 2>/dev/null || true
	wait "$ppid" || rc=1
	if ((rc != 0)); then
		cat "$WORK/probe-$label.out" >&2
		fail "latency run against $label"
	fi
	PROBE=$(grep '^probe ' "$WORK/probe-$label.out")
	echo "  $label: $PROBE" >&2
}
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" <<<" $2"; }

echo "latency: probe alongside one more smtp-source run" >&2
wait_postfix_idle
probe_under_load "$PF_PORT" postfix
pf_probe=$PROBE
probe_under_load "$HK_PORT" hikyaku
hk_probe=$PROBE
HK_EXPECT=$((HK_EXPECT + MESSAGES + $(field n "$hk_probe")))
n=$(wait_maildir "$WORK/hk" "$HK_EXPECT" 300) || fail "latency run: Maildir holds $n, want $HK_EXPECT"
check_hikyaku_count latency
accepted=$(metric "$WORK/hk" hikyaku_messages_accepted_total)
fsyncs=$(metric "$WORK/hk" hikyaku_spool_fsync_seconds_count)

# Postfix must have taken every message too (its discard agent logs each).
wait_postfix_idle
pf_want=$((WARMUP + (RUNS + 1) * MESSAGES + $(field n "$pf_probe")))
pf_sent=$(grep -c ' status=sent ' "$(pfref_log "$WORK/postfix")" || true)
((pf_sent == pf_want)) || fail "Postfix delivered $pf_sent messages, want $pf_want"

# load_run LABEL ARGS...: one benchclient load run against hikyaku; sets
# LOAD to its summary line and counts its messages into HK_EXPECT.
load_run() {
	local label=$1
	shift
	"$BC" load -addr "127.0.0.1:$HK_PORT" -sessions "$CONCURRENCY" -size "$SIZE" "$@" >"$WORK/load-$label.out" 2>&1 ||
		{ cat "$WORK/load-$label.out" >&2; fail "load run $label"; }
	LOAD=$(grep '^load ' "$WORK/load-$label.out")
	HK_EXPECT=$((HK_EXPECT + $(field messages "$LOAD")))
	echo "  $label: $LOAD" >&2
}

echo "tls: benchclient load, $TLS_MESSAGES messages, plain vs STARTTLS" >&2
tls_rows=()
for per in 10 1; do
	load_run "plain-$per" -messages "$TLS_MESSAGES" -per-session "$per"
	plain=$LOAD
	load_run "tls-$per" -messages "$TLS_MESSAGES" -per-session "$per" -tls
	tls=$LOAD
	tls_rows+=("$(printf '  %2d msg/conn: plain %6s  STARTTLS %6s msgs/s  ratio %s  (STARTTLS step %s ms)' "$per" \
		"$(field msgs_per_s "$plain")" "$(field msgs_per_s "$tls")" \
		"$(awk -v t="$(field msgs_per_s "$tls")" -v p="$(field msgs_per_s "$plain")" 'BEGIN { printf "%.2f", t / p }')" \
		"$(field starttls_ms "$tls")")")
done
# An MTA keeps a TLS session cache (Postfix: smtp_tls_session_cache_database),
# so a peer sending one message per connection resumes instead of paying
# the full handshake each time. $plain is the 1 msg/conn plain run.
load_run "tls-1-resumed" -messages "$TLS_MESSAGES" -per-session 1 -tls -resume
tls_rows+=("$(printf '   1 msg/conn, resumed:     STARTTLS %6s msgs/s  ratio %s  (STARTTLS step %s ms)' \
	"$(field msgs_per_s "$LOAD")" \
	"$(awk -v t="$(field msgs_per_s "$LOAD")" -v p="$(field msgs_per_s "$plain")" 'BEGIN { printf "%.2f", t / p }')" \
	"$(field starttls_ms "$LOAD")")")
printf 'bench-auth-pw\n' | "$HK_BIN" user passwd --config "$WORK/hk/hikyaku.toml" "$HK_USER@$HK_DOMAIN" >>"$WORK/hk/hikyaku.log" 2>&1 ||
	fail "user passwd failed"
sleep 2.5 # the server re-reads users.toml within two seconds of a change
load_run auth -sessions 1 -messages $((AUTH_CONNS * 5)) -per-session 5 -tls -auth "$HK_USER@$HK_DOMAIN:bench-auth-pw" -from "$HK_USER@$HK_DOMAIN"
auth_load=$LOAD
auth_sum=$(metric "$WORK/hk" hikyaku_smtp_auth_check_seconds_sum)
auth_n=$(metric "$WORK/hk" hikyaku_smtp_auth_check_seconds_count)
n=$(wait_maildir "$WORK/hk" "$HK_EXPECT" 300) || fail "tls runs: Maildir holds $n, want $HK_EXPECT"
check_hikyaku_count tls

echo "memory: $SESSIONS idle sessions on a fresh hikyaku" >&2
hk_stop "$WORK/hk"
hk_start "$WORK/hk"
sleep 1
rss0=$(hk_rss_kib "$WORK/hk")
"$BC" idle -addr "127.0.0.1:$HK_PORT" -n "$SESSIONS" >"$WORK/idle.out" 2>&1 &
idle_pid=$!
CLIENT_PIDS+=("$idle_pid")
for ((i = 0; i < 1200; i++)); do
	grep -q '^ready ' "$WORK/idle.out" && break
	kill -0 "$idle_pid" 2>/dev/null || break
	sleep 0.1
done
ready=$(grep '^ready ' "$WORK/idle.out") || { cat "$WORK/idle.out" >&2; fail "idle client did not get ready"; }
opened=$(field opened "$ready")
[[ $(field failed "$ready") == 0 ]] || { cat "$WORK/idle.out" >&2; fail "idle sessions: $ready"; }
sleep 2
rss1=$(hk_rss_kib "$WORK/hk")
active=$(metric "$WORK/hk" hikyaku_smtp_sessions_active)
kill -TERM "$idle_pid"
wait "$idle_pid" || { cat "$WORK/idle.out" >&2; fail "idle sessions were dropped while held"; }
check_hikyaku_healthy
per=$(awk -v a="$rss0" -v b="$rss1" -v n="$opened" 'BEGIN { printf "%.1f", (b - a) / n }')

fs=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
cat <<EOF

hikyaku receiver benchmark ($(nproc) cores, $(uname -r), $fs file system at $WORK)
load average at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)
throughput: smtp-source -s $CONCURRENCY -m $MESSAGES -l $SIZE, messages/s, median of $RUNS
$(printf '  %-8s %s\n' server "runs ... -> median")
$(printf '  %-8s %s -> %s\n' postfix "${pf_rates[*]}" "$pf_med")
$(printf '  %-8s %s -> %s\n' hikyaku "${hk_rates[*]}" "$hk_med")
  ratio hikyaku/postfix: $(awk -v h="$hk_med" -v p="$pf_med" 'BEGIN { printf "%.2f", h / p }')
  hikyaku Maildir complete after the last 250: ${hk_drain[*]} s; every run stored exactly $MESSAGES
  hikyaku spool: ${accepted:-?} messages acknowledged with ${fsyncs:-?} spool fsyncs
latency final dot -> 250 under the same load (ms):
  postfix  p50 $(field p50_ms "$pf_probe")  p99 $(field p99_ms "$pf_probe")  (n=$(field n "$pf_probe"))
  hikyaku  p50 $(field p50_ms "$hk_probe")  p99 $(field p99_ms "$hk_probe")  (n=$(field n "$hk_probe"))
TLS (benchclient load, $TLS_MESSAGES messages, $CONCURRENCY sessions; both ends on this machine):
$(printf '%s\n' "${tls_rows[@]}")
  AUTH PLAIN over STARTTLS, $(field connections "$auth_load") connections: one at a time: credential check (argon2id) mean $(awk -v s="${auth_sum:-0}" -v n="${auth_n:-0}" 'BEGIN { if (n > 0) printf "%.1f", 1000 * s / n; else print "?" }') ms, AUTH step $(field auth_ms "$auth_load") ms
memory: $opened idle sessions (greeted, EHLO), sessions_active=${active:-?}
  hikyaku VmRSS ${rss0} KiB -> ${rss1} KiB: ${per} KiB per session
EOF
