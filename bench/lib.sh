# shellcheck shell=bash
# lib.sh: helpers shared by the bench scripts (sourced, not run). They build
# and run a private hikyaku under a work directory, on loopback ports only.
#
#   bench_build ROOT BINDIR        go build hikyaku and benchclient into BINDIR
#   hk_write_config DIR PORT HTTP [MAX_SESSIONS]
#   hk_start DIR                   start `hikyaku serve`, wait for its port
#   hk_stop DIR                    SIGTERM, then SIGKILL after 15 s
#   hk_kill DIR                    SIGKILL and reap (crash test)
#   hk_rss_kib DIR                 VmRSS of the running server, KiB
#   maildir_count DIR [USER]       messages in the user's Maildir (new + cur)
#   wait_maildir DIR WANT SECS     until the count reaches WANT; fails on timeout
#   now                            seconds since the epoch, with fraction
#   free_ports N                   N unused loopback ports
#   metric DIR NAME                one unlabelled value from hikyaku's /metrics
#
# bench_init NAME PREFIX          the start every script shares: WORK, fail,
#                                 the clean-up on exit, the load warning
#
# hk_* keep their state in files under DIR (hikyaku.toml, hikyaku.pid,
# hikyaku.log, data/), so a trap can clean up whatever was started.
#
# Delivery benchmarks (delivery.sh, campaign.sh): a Postfix smtp-sink as
# every remote mail server, found through the fake DNS, and hikyaku
# draining a relay queue that queuefill pre-filled. These use the globals
# WORK (work directory, the bench binaries in WORK/bin), HK_BIN and the
# settings named below, and call fail MESSAGE, which the sourcing script
# defines (print it, exit 1).
#
#   rate N SECS / secs T0 T1 / median V...   arithmetic for the reports
#   cpu_secs PID                   user+system CPU seconds of a process
#   busy_ticks / busy_pct A0 T0 A1 T1   share of all cores kept busy
#   sink_start IP PORT             smtp-sink -c into WORK/sink.out; SINK_PID
#   sink_counts / sink_settle      "SESS MESG" of the sink / wait until still
#   fakedns_start PORT SINK_IP DOMAINS   sink.test, d0.test … MX -> SINK_IP
#   hk_delivery_config DIR [EXTRA] hikyaku.toml sending to the sink, from
#       HK_PORT HK_HTTP DNS_PORT SINK_PORT HK_CONCURRENCY HK_PER_HOST HK_MPC
#       HK_IDLE; EXTRA (TOML text) is appended
#   metric_sum DIR NAME [REGEX] / codes_seen DIR   sums from /metrics
#   hk_drain_run N                 queuefill MESSAGES messages of SIZE body
#       octets over DOMAINS domains into WORK/hk, `hikyaku serve` until the
#       queue is empty; sets RUN_*

# shellcheck source=bench/postfix-ref.sh
source "$(dirname "${BASH_SOURCE[0]}")/postfix-ref.sh"

HK_DOMAIN=${HK_DOMAIN:-example.test}
HK_USER=${HK_USER:-alice}
HK_LOG_LEVEL=${HK_LOG_LEVEL:-info}

# now: seconds since the epoch, fractional. bash 5's EPOCHREALTIME reads
# the clock without forking date(1), a few milliseconds inside every timed
# span on a busy machine; its separator follows the locale, hence the
# comma. date(1) where bash is older.
now() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		local t=$EPOCHREALTIME
		echo "${t/,/.}"
	else
		date +%s.%N
	fi
}

# bench_init NAME PREFIX: makes WORK (a fresh directory under BENCH_TMPDIR,
# hikyaku-PREFIX.XXXXXX), defines fail MESSAGE ("NAME: FAIL: MESSAGE",
# exit 1), raises the open-file limit, sets load_start and warns when the
# machine is already busier than its cores. On exit (also on INT/TERM) it
# runs the script's bench_on_exit when the script defines one, stops every
# pid in BENCH_PIDS (sink_start and fakedns_start add theirs), the hikyaku
# under WORK/hk and the reference Postfix under WORK/postfix, and removes
# WORK unless KEEP=1 or the script failed.
bench_init() {
	BENCH_NAME=$1
	WORK=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/hikyaku-$2.XXXXXX")
	chmod 755 "$WORK"
	BENCH_PIDS=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	ulimit -n "$(ulimit -Hn)"
	load_start=$(cut -d' ' -f1-3 /proc/loadavg)
	if awk -v l="${load_start%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
		echo "$BENCH_NAME: warning: load average $load_start on $(nproc) cores; figures will be noisy" >&2
	fi
}

fail() {
	echo "${BENCH_NAME:-bench}: FAIL: $*" >&2
	exit 1
}

bench_cleanup() {
	local rc=$? pid
	if declare -F bench_on_exit >/dev/null; then
		bench_on_exit || true
	fi
	for pid in "${BENCH_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	hk_stop "$WORK/hk" 2>/dev/null || true
	pfref_stop "$WORK/postfix" 2>/dev/null || true
	if [[ ${KEEP:-0} == 1 || $rc -ne 0 ]]; then
		echo "$BENCH_NAME: work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}

# free_ports N: N distinct loopback TCP ports nothing listens on now, so two
# runs on one machine do not collide (scripts pick them unless given).
free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

bench_build() {
	local root=$1 bindir=$2
	mkdir -p "$bindir"
	(cd "$root" && go build -o "$bindir/hikyaku" ./cmd/hikyaku) || {
		echo "bench: go build ./cmd/hikyaku failed" >&2
		return 1
	}
	(cd "$root" && go build -o "$bindir/benchclient" ./bench/cmd/benchclient) || {
		echo "bench: go build ./bench/cmd/benchclient failed" >&2
		return 1
	}
}

hk_write_config() {
	local dir=$1 port=$2 http=$3 max=${4:-1000}
	mkdir -p "$dir/data"
	cat >"$dir/hikyaku.toml" <<EOF
# written by bench/lib.sh
hostname = "mx.example.test"
data_dir = "$dir/data"
log_level = "$HK_LOG_LEVEL"

[smtp]
listen = ["127.0.0.1:$port"]
max_sessions = $max
max_sessions_per_ip = $max

[local]
domains = ["$HK_DOMAIN"]

[relay]
networks = ["127.0.0.0/8"]

[http]
listen = "127.0.0.1:$http"
EOF
	echo "$port" >"$dir/port"
	echo "$http" >"$dir/http"
}

# hk_user_add DIR: create the bench mailbox user (once per data dir).
hk_user_add() {
	local dir=$1
	[[ -f $dir/user-added ]] && return 0
	"$HK_BIN" user add --config "$dir/hikyaku.toml" "$HK_USER@$HK_DOMAIN" </dev/null >>"$dir/hikyaku.log" 2>&1 || {
		echo "bench: hikyaku user add failed:" >&2
		tail -n 20 "$dir/hikyaku.log" >&2
		return 1
	}
	touch "$dir/user-added"
}

hk_start() {
	local dir=$1 port
	port=$(cat "$dir/port")
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "hk_start: port 127.0.0.1:$port is already in use" >&2
		return 1
	fi
	hk_user_add "$dir" || return 1
	echo "=== serve started $(date -u +%FT%T.%NZ)" >>"$dir/hikyaku.log"
	"$HK_BIN" serve --config "$dir/hikyaku.toml" </dev/null >>"$dir/hikyaku.log" 2>&1 &
	echo $! >"$dir/hikyaku.pid"
	local i pid=$!
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "hk_start: hikyaku exited during start-up:" >&2
			tail -n 30 "$dir/hikyaku.log" >&2
			return 1
		fi
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "hk_start: hikyaku not listening on $port after 30s" >&2
	return 1
}

hk_pid() { cat "$1/hikyaku.pid" 2>/dev/null; }

hk_alive() {
	local pid
	pid=$(hk_pid "$1") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

hk_stop() {
	local dir=$1 pid i
	pid=$(hk_pid "$dir") || return 0
	[[ -n $pid ]] || return 0
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 150; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "hk_stop: hikyaku ignored SIGTERM for 15s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/hikyaku.pid"
}

hk_kill() {
	local dir=$1 pid
	pid=$(hk_pid "$dir") || return 0
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/hikyaku.pid"
}

hk_rss_kib() {
	local pid
	pid=$(hk_pid "$1")
	awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"
}

hk_maildir() { echo "$1/data/mail/$HK_DOMAIN/${2:-$HK_USER}"; }

maildir_count() {
	local md
	md=$(hk_maildir "$1" "${2:-}")
	# Before the first delivery the Maildir may not exist yet: that is 0.
	{ find "$md/new" "$md/cur" -maxdepth 1 -type f 2>/dev/null || true; } | wc -l
}

# wait_maildir DIR WANT SECS: waits until the Maildir holds at least WANT
# messages; prints the final count.
wait_maildir() {
	local dir=$1 want=$2 secs=$3 n i
	for ((i = 0; i < secs * 5; i++)); do
		n=$(maildir_count "$dir")
		if ((n >= want)); then
			echo "$n"
			return 0
		fi
		sleep 0.2
	done
	echo "$n"
	return 1
}

# metric DIR NAME: value of one unlabelled metric from /metrics ("" if none).
metric() {
	local http
	http=$(cat "$1/http")
	python3 - "$http" "$2" <<'EOF' 2>/dev/null || true
import sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
body = opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
for line in body.splitlines():
    if line.startswith(name + " "):
        print(line.split()[1])
EOF
}

# --- delivery benchmarks: smtp-sink, fake DNS, a draining hikyaku ----------

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

# sink_start IP PORT: a Postfix smtp-sink that accepts everything and
# writes nothing to disk. -c: counters (sess, quit, mesg) in WORK/sink.out
# at every session end, QUIT and final dot; backlog 1024 so no connect
# waits on accept. Sets SINK_PID.
sink_start() {
	/usr/sbin/smtp-sink -u postfix -c "$1:$2" 1024 >"$WORK/sink.out" 2>"$WORK/sink.err" &
	SINK_PID=$!
	BENCH_PIDS+=("$SINK_PID")
	wait_port "$1" "$2" 10 || fail "smtp-sink did not start: $(cat "$WORK/sink.err")"
}

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

# fakedns_start PORT SINK_IP DOMAINS: WORK/bin/fakedns on 127.0.0.1:PORT,
# whose zone gives sink.test and d0.test … d<DOMAINS-1>.test the MX
# mx.sink.test, which is SINK_IP. Sets DNS_PID.
fakedns_start() {
	local port=$1 ip=$2 n=$3 d
	{
		echo "\$TTL 3600"
		echo 'test. IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60'
		echo "mx.sink.test. IN A $ip"
		echo 'sink.test. IN MX 10 mx.sink.test.'
		for ((d = 0; d < n; d++)); do
			echo "d$d.test. IN MX 10 mx.sink.test."
		done
	} >"$WORK/zone.txt"
	"$WORK/bin/fakedns" -listen "127.0.0.1:$port" -zone "$WORK/zone.txt" >"$WORK/fakedns.log" 2>&1 &
	DNS_PID=$!
	BENCH_PIDS+=("$DNS_PID")
	wait_port 127.0.0.1 "$port" 10 || fail "fakedns did not start: $(cat "$WORK/fakedns.log")"
}

# hk_delivery_config DIR [EXTRA]: a hikyaku.toml whose delivery engine
# sends everything to the sink through the fake DNS.
hk_delivery_config() {
	local dir=$1
	mkdir -p "$dir/data"
	cat >"$dir/hikyaku.toml" <<EOF
# written by bench/lib.sh
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
${2:-}
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

# queue_count DIR: messages in the relay queue of the hikyaku under DIR
# (reads every envelope: for the start and the end of a run).
queue_count() { "$HK_BIN" queue list --config "$1/hikyaku.toml" --json | wc -l; }

# results_seen DIR: delivery results the running hikyaku under DIR has
# counted, all codes (its metrics; bash and awk only, cheap to poll).
results_seen() {
	local port
	port=$(cat "$1/http")
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	awk '/^hikyaku_delivery_results_total\{/ { s += $NF } END { printf "%d\n", s }' <&3
	exec 3<&-
}

# hk_drain_run N: fill a fresh data_dir (WORK/hk) with MESSAGES messages of
# SIZE body octets over DOMAINS domains, start hikyaku, time until the
# relay queue is empty. Every message must come out as a 250 and the sink
# must count them all. Sets RUN_SECS, RUN_SESS, RUN_MESG, RUN_BUSY,
# RUN_T99 (seconds until 99% were gone), RUN_HWM (KiB), RUN_CPU (hikyaku
# CPU s), RUN_SINKCPU, RUN_MSGSIZE (octets of one queued message).
hk_drain_run() {
	local n=$1 dir=$WORK/hk q s0 m0 s1 m1 t0 t1 c0 c1 k0 pid i left ok250 all limit seen
	rm -rf "$dir"
	hk_delivery_config "$dir"
	q=$dir/data/queue
	"$WORK/bin/queuefill" -dir "$q" -n "$MESSAGES" -size "$SIZE" -domains "$DOMAINS" 2>>"$WORK/queuefill.log" ||
		fail "queuefill run $n: $(tail -n 3 "$WORK/queuefill.log")"
	read -r left RUN_MSGSIZE < <("$HK_BIN" queue list --config "$dir/hikyaku.toml" --json |
		python3 -c 'import json, sys
sizes = [json.loads(l)["size"] for l in sys.stdin]
print(len(sizes), sizes[0] if sizes else 0)')
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
	# Every message has its result when the metrics count MESSAGES; the run
	# ends when the queue is empty too (the last removals follow at once).
	for ((i = 0; ; i++)); do
		kill -0 "$pid" 2>/dev/null || fail "hikyaku exited during run $n; log: $dir/hikyaku.log"
		seen=$(results_seen "$dir" 2>/dev/null || echo 0)
		if [[ -z $RUN_T99 ]] && ((seen * 100 >= MESSAGES * 99)); then
			RUN_T99=$(secs "$t0" "$(now)")
		fi
		if ((seen >= MESSAGES)) && (($(queue_count "$dir") == 0)); then
			break
		fi
		if (($(date +%s) - ${t0%.*} > limit)); then
			echo "delivery results so far: $(codes_seen "$dir")" >&2
			fail "hikyaku run $n: $seen of $MESSAGES results after ${limit}s; log: $dir/hikyaku.log"
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
	if grep -qE '^panic: |^fatal error: |level=ERROR' "$dir/hikyaku.log"; then
		grep -m 5 -E '^panic: |^fatal error: |level=ERROR' "$dir/hikyaku.log" >&2
		fail "hikyaku run $n logged errors; log: $dir/hikyaku.log"
	fi
	cp "$dir/hikyaku.log" "$WORK/hikyaku-$n.log"
}
