#!/usr/bin/env bash
# campaign.sh: bulk campaign speed (issue "Bulk campaigns", Speed): one
# generated list sent by `hikyaku campaign run` to a Postfix smtp-sink on
# loopback, through the fake DNS, over many domains, against hikyaku
# delivering the same kind of pre-built messages from its relay queue.
#
#   1. a list of ROWS rows (email, name, name_ja, plan) over DOMAINS domains
#      d0.test … (u<i>@d<i mod DOMAINS>.test) and a template using the
#      fields in its Subject and body (~1 KiB once composed; the average is
#      measured with --dry-run and printed);
#   2. smtp-sink on SINK_IP, the fake DNS giving every domain its MX there;
#   3. reference: REF_MESSAGES pre-built messages of the campaign's average
#      size, queued by bench/cmd/queuefill, drained by `hikyaku serve`
#      (bench/lib.sh hk_drain_run, as bench/delivery.sh does): msgs/s;
#   4. the campaign on the embedded store (a fresh data_dir/status.db):
#      `hikyaku campaign run` timed from start to exit (list load + send),
#      msgs/s, peak RSS (the larger of GNU time's maximum resident set
#      size and VmHWM sampled from /proc every 0.1s), store writes/s
#      = (attempts + final updates) / send phase, and the load phase's
#      inserted rows/s. `hikyaku campaign status --json` must show every
#      row sent with 250, one attempt each; the sink must count them all;
#   5. the same on MariaDB at MARIADB_HOST:MARIADB_PORT (root, no password)
#      in a fresh database hikyaku_bench_<pid>_<run>, dropped afterwards;
#      skipped with a message when the server does not answer.
# RUNS rounds of 3-5, interleaved; medians in a final table with the
# settings. Delivery settings are the same for the reference and the
# campaigns: [delivery] concurrency, per_host, messages_per_connection,
# idle_timeout.
#
# Environment (defaults):
#   ROWS (1000000)         list rows
#   DOMAINS (100)          recipient domains
#   RUNS (3 when ROWS <= 200000, else 1)
#   REF_MESSAGES (min(ROWS, 200000))   pre-built messages of the reference
#   REF_SIZE               queuefill body octets (default: so that the
#                          queued message is the campaign's average size)
#   HK_CONCURRENCY (50)    campaign.concurrency and delivery.concurrency
#   HK_PER_HOST (20)       delivery.per_host
#   HK_BATCH (100)         campaign.batch
#   HK_MPC (100)           delivery.messages_per_connection
#   HK_IDLE (5s)           delivery.idle_timeout
#   HK_LOG_LEVEL (info)    SINK_IP (127.0.0.2)
#   MARIADB_HOST (127.0.0.1) MARIADB_PORT (3306)   SKIP_MARIADB=1
#   SKIP_REF=1 SKIP_EMBEDDED=1 (leave a part out while tuning)
#   SINK_PORT DNS_PORT HK_PORT HK_HTTP (default: free loopback ports)
#   BENCH_TMPDIR (/tmp)    KEEP=1 keeps the work directory
#   PROFILE_SECS (0)       > 0: hikyaku is built with a bench-only file
#                          (go build -overlay, nothing added to the tree)
#                          and each campaign run writes a CPU profile of
#                          PROFILE_SECS seconds, PROFILE_AFTER (20) seconds
#                          after its start, to WORK/cpu-LABEL-N.pprof; the
#                          work directory is kept (go tool pprof -top
#                          WORK/bin/hikyaku WORK/cpu-embedded-1.pprof)
# Quick: ROWS=20000 RUNS=1 bench/campaign.sh
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROWS=${ROWS:-1000000}
DOMAINS=${DOMAINS:-100}
if ((ROWS <= 200000)); then RUNS=${RUNS:-3}; else RUNS=${RUNS:-1}; fi
REF_MESSAGES=${REF_MESSAGES:-$((ROWS < 200000 ? ROWS : 200000))}
HK_CONCURRENCY=${HK_CONCURRENCY:-50}
HK_PER_HOST=${HK_PER_HOST:-20}
HK_BATCH=${HK_BATCH:-100}
HK_MPC=${HK_MPC:-100}
HK_IDLE=${HK_IDLE:-5s}
SINK_IP=${SINK_IP:-127.0.0.2}
MARIADB_HOST=${MARIADB_HOST:-127.0.0.1}
MARIADB_PORT=${MARIADB_PORT:-3306}
SKIP_MARIADB=${SKIP_MARIADB:-0}
SKIP_REF=${SKIP_REF:-0}
SKIP_EMBEDDED=${SKIP_EMBEDDED:-0}
((ROWS > 0 && DOMAINS > 0 && RUNS > 0 && REF_MESSAGES > 0)) || {
	echo "campaign.sh: ROWS, DOMAINS, RUNS and REF_MESSAGES must be positive" >&2
	exit 2
}

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
read -r p1 p2 p3 p4 < <(free_ports 4)
SINK_PORT=${SINK_PORT:-$p1}
DNS_PORT=${DNS_PORT:-$p2}
HK_PORT=${HK_PORT:-$p3}
HK_HTTP=${HK_HTTP:-$p4}
SINK=$SINK_IP:$SINK_PORT

"$ROOT/scripts/setup-test-deps" >&2
[[ -x /usr/bin/time ]] && /usr/bin/time --version 2>&1 | grep -q 'GNU' || {
	echo "campaign.sh: GNU time (/usr/bin/time, Debian package time) is needed for the peak RSS" >&2
	exit 1
}

CAMP_PID='' DBS=()
maria() { mariadb --protocol=TCP -h "$MARIADB_HOST" -P "$MARIADB_PORT" -u root --batch --skip-column-names "$@"; }
bench_on_exit() {
	local db
	if [[ -n $CAMP_PID ]] && kill -0 "$CAMP_PID" 2>/dev/null; then
		kill -TERM "$CAMP_PID" 2>/dev/null || true
		wait "$CAMP_PID" 2>/dev/null || true
	fi
	for db in "${DBS[@]}"; do
		maria -e "DROP DATABASE IF EXISTS \`$db\`" 2>/dev/null || true
	done
}
bench_init campaign.sh campaign

PROFILE_SECS=${PROFILE_SECS:-0}
PROFILE_AFTER=${PROFILE_AFTER:-20}
echo "building..." >&2
mkdir -p "$WORK/bin"
for cmd in bench/cmd/fakedns bench/cmd/queuefill; do
	(cd "$ROOT" && go build -o "$WORK/bin/" "./$cmd") || fail "go build ./$cmd"
done
overlay=()
if ((PROFILE_SECS > 0)); then
	KEEP=1
	# A file added to package main for this build only: a CPU profile of
	# the window HIKYAKU_CPUPROFILE_AFTER .. +HIKYAKU_CPUPROFILE_SECS.
	cat >"$WORK/benchprof.go" <<'EOF'
package main

import (
	"os"
	"runtime/pprof"
	"strconv"
	"time"
)

func init() {
	path := os.Getenv("HIKYAKU_CPUPROFILE")
	if path == "" {
		return
	}
	after, _ := strconv.Atoi(os.Getenv("HIKYAKU_CPUPROFILE_AFTER"))
	secs, _ := strconv.Atoi(os.Getenv("HIKYAKU_CPUPROFILE_SECS"))
	go func() {
		time.Sleep(time.Duration(after) * time.Second)
		f, err := os.Create(path)
		if err != nil || pprof.StartCPUProfile(f) != nil {
			return
		}
		time.Sleep(time.Duration(max(secs, 1)) * time.Second)
		pprof.StopCPUProfile()
		f.Close()
	}()
}
EOF
	printf '{"Replace":{"%s/cmd/hikyaku/zz_benchprof.go":"%s/benchprof.go"}}\n' "$ROOT" "$WORK" >"$WORK/overlay.json"
	overlay=(-overlay "$WORK/overlay.json")
fi
(cd "$ROOT" && go build "${overlay[@]}" -o "$WORK/bin/" ./cmd/hikyaku) || fail "go build ./cmd/hikyaku"
HK_BIN=$WORK/bin/hikyaku

# --- 1. the list and the template ------------------------------------------

t0=$(now)
awk -v n="$ROWS" -v d="$DOMAINS" 'BEGIN {
	split("Bronze Silver Gold Platinum", plan, " ")
	print "email\tname\tname_ja\tplan"
	for (i = 0; i < n; i++)
		printf "u%d@d%d.test\tUser %d\t山田 太郎 %d\t%s\n", i, i % d, i, i, plan[i % 4 + 1]
}' >"$WORK/list.tsv"
echo "list: $ROWS rows, $(stat -c %s "$WORK/list.tsv") octets, written in $(secs "$t0" "$(now)")s" >&2

cat >"$WORK/template.eml" <<'EOF'
From: Hikyaku Bench <news@example.test>
To: {{.name}} <{{.email}}>
Subject: {{.name_ja}} 様、{{.plan}} 会員のご案内 (#{{.row}})

{{.name_ja}} 様

Dear {{.name}},

Thank you for being a {{.plan}} member. This message is part of the
hikyaku campaign benchmark, composed per recipient from the template.

Your member number is {{.row}} and your address on file is {{.email}}.
If any of this is wrong, reply to this message and we will correct it.

This month's offers for {{.plan}} members:
  - free shipping on every order over 3,000 yen;
  - double points on weekends, every weekend of the month;
  - early access to the summer sale, two days before everyone else.

To stop receiving this newsletter, write to news@example.test.

Campaign {{.campaign}}, row {{.row}}.
-- 
Hikyaku Bench Shop, 1-2-3 Example-cho, Chiyoda-ku, Tokyo
EOF

# The composed size, from a dry run over the first rows.
mkdir -p "$WORK/dry"
hk_delivery_config "$WORK/dry"
head -n 1001 "$WORK/list.tsv" >"$WORK/sample.tsv"
"$HK_BIN" campaign run --config "$WORK/dry/hikyaku.toml" --list "$WORK/sample.tsv" \
	--template "$WORK/template.eml" --dry-run >"$WORK/dry.out" 2>&1 || fail "dry run: $(cat "$WORK/dry.out")"
MSG_SIZE=$(sed -n 's/^average message size: \([0-9]*\) octets$/\1/p' "$WORK/dry.out")
[[ -n $MSG_SIZE ]] || fail "dry run printed no average size: $(cat "$WORK/dry.out")"
grep -q ' 0 invalid rows' "$WORK/dry.out" || fail "dry run: $(cat "$WORK/dry.out")"
echo "template: $(head -n 1 "$WORK/dry.out")" >&2

# The reference's body size: the campaign's average minus what queuefill
# puts around the body.
"$WORK/bin/queuefill" -dir "$WORK/qprobe" -n 1 -size 0 -domains 1 2>"$WORK/qprobe.err" || fail "queuefill probe: $(cat "$WORK/qprobe.err")"
q_over=$(sed -n 's/^queuefill: octets per message: \([0-9]*\)$/\1/p' "$WORK/qprobe.err")
[[ -n $q_over ]] || fail "queuefill probe printed no size: $(cat "$WORK/qprobe.err")"
rm -rf "$WORK/qprobe"
REF_SIZE=${REF_SIZE:-$((MSG_SIZE > q_over + 100 ? MSG_SIZE - q_over : 100))}

# --- 2. the sink and the fake DNS -------------------------------------------

sink_start "$SINK_IP" "$SINK_PORT"
fakedns_start "$DNS_PORT" "$SINK_IP" "$DOMAINS"

# --- MariaDB ---------------------------------------------------------------

MARIA_NOTE=''
if [[ $SKIP_MARIADB == 1 ]]; then
	MARIA_NOTE="skipped (SKIP_MARIADB=1)"
elif ! command -v mariadb >/dev/null 2>&1; then
	MARIA_NOTE="skipped: no mariadb client"
elif ! maria -e 'SELECT 1' >/dev/null 2>&1; then
	MARIA_NOTE="skipped: no MariaDB answering as root at $MARIADB_HOST:$MARIADB_PORT"
fi
[[ -z $MARIA_NOTE ]] || echo "campaign.sh: MariaDB $MARIA_NOTE" >&2
maria_pid() { pidof mariadbd 2>/dev/null || pidof mysqld 2>/dev/null || true; }

# --- 4, 5. a campaign run -----------------------------------------------------

# epoch_of TIME: seconds since the epoch of an RFC 3339 time.
epoch_of() { date -d "$1" +%s.%N; }

# campaign_run LABEL N: one `hikyaku campaign run` over the whole list in
# a fresh data_dir, on the embedded store (LABEL embedded) or a fresh
# MariaDB database (LABEL mariadb). Sets RUN_SECS (start to exit),
# RUN_LOAD (start until the list was loaded), RUN_SEND (the rest), RUN_KIB
# (peak RSS: the larger of GNU time's maximum RSS, RUN_TIMEKIB, and the
# VmHWM sampled every 0.1s, RUN_HWM), RUN_CPU (hikyaku CPU
# s), RUN_DBCPU (mariadbd CPU s, "-" for embedded), RUN_WRITES (attempts
# + finals), RUN_SESS, RUN_MESG, RUN_BUSY, RUN_STORE (store size, MiB).
campaign_run() {
	local label=$1 n=$2 dir name dsn='' db='' extra
	local s0 m0 s1 m1 c0 c1 k0 d0='' mpid='' t0 t1 tpid hpid='' hwm=0 h i limit rc=0 tl st
	dir=$WORK/camp-$label name=bench-$label-$n
	rm -rf "$dir"
	if [[ $label == mariadb ]]; then
		db=hikyaku_bench_$$_$n
		DBS+=("$db")
		maria -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4" || fail "creating database $db"
		dsn="root@tcp($MARIADB_HOST:$MARIADB_PORT)/$db"
		mpid=$(maria_pid)
	fi
	extra=$(
		cat <<EOF

[campaign]
concurrency = $HK_CONCURRENCY
batch = $HK_BATCH
rate = 0

[store]
dsn = "$dsn"
EOF
	)
	hk_delivery_config "$dir" "$extra"
	sync
	read -r s0 m0 < <(sink_counts)
	k0=$(cpu_secs "$SINK_PID")
	[[ -z $mpid ]] || d0=$(cpu_secs "$mpid")
	c0=$(busy_ticks)
	t0=$(now)
	local prof=()
	((PROFILE_SECS == 0)) || prof=(env "HIKYAKU_CPUPROFILE=$WORK/cpu-$label-$n.pprof"
		"HIKYAKU_CPUPROFILE_AFTER=$PROFILE_AFTER" "HIKYAKU_CPUPROFILE_SECS=$PROFILE_SECS")
	/usr/bin/time -f '%e %M %U %S' -o "$dir/time.txt" "${prof[@]}" \
		"$HK_BIN" campaign run --config "$dir/hikyaku.toml" --list "$WORK/list.tsv" \
		--template "$WORK/template.eml" --name "$name" --json \
		</dev/null >"$dir/summary.json" 2>"$dir/hikyaku.log" &
	CAMP_PID=$!
	limit=$((ROWS / 50 + 300)) # seconds: far beyond any sane rate
	for ((i = 0; ; i++)); do
		kill -0 "$CAMP_PID" 2>/dev/null || break
		if [[ -z $hpid ]]; then
			hpid=$(cat "/proc/$CAMP_PID/task/$CAMP_PID/children" 2>/dev/null || true)
			hpid=${hpid%% *}
		fi
		if [[ -n $hpid ]]; then
			h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$hpid/status" 2>/dev/null || true)
			[[ -z $h ]] || hwm=$h
		fi
		if ((i % 50 == 0)) && (($(date +%s) - ${t0%.*} > limit)); then
			[[ -z $hpid ]] || kill -TERM "$hpid" 2>/dev/null || true
			sleep 30
			[[ -z $hpid ]] || kill -KILL "$hpid" 2>/dev/null || true
			wait "$CAMP_PID" 2>/dev/null || true
			CAMP_PID=''
			fail "$label run $n: not done after ${limit}s; log: $dir/hikyaku.log"
		fi
		sleep 0.1
	done
	wait "$CAMP_PID" || rc=$?
	CAMP_PID=''
	t1=$(now)
	c1=$(busy_ticks)
	if ((rc != 0)); then
		tail -n 20 "$dir/hikyaku.log" >&2
		fail "$label run $n: hikyaku campaign run exited $rc; log: $dir/hikyaku.log"
	fi
	if grep -qE '^panic: |^fatal error: |level=ERROR' "$dir/hikyaku.log"; then
		grep -m 5 -E '^panic: |^fatal error: |level=ERROR' "$dir/hikyaku.log" >&2
		fail "$label run $n logged errors; log: $dir/hikyaku.log"
	fi
	RUN_DBCPU=-
	[[ -z $mpid ]] || RUN_DBCPU=$(awk -v a="$d0" -v b="$(cpu_secs "$mpid")" 'BEGIN { printf "%.2f\n", b - a }')
	RUN_SINKCPU=$(awk -v a="$k0" -v b="$(cpu_secs "$SINK_PID")" 'BEGIN { printf "%.2f\n", b - a }')
	read -r _ RUN_KIB RUN_CPU < <(tail -n 1 "$dir/time.txt" | awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }')
	RUN_HWM=$hwm RUN_TIMEKIB=$RUN_KIB
	((RUN_HWM <= RUN_KIB)) || RUN_KIB=$RUN_HWM # the larger of the two
	tl=$(sed -n 's/^time=\([^ ]*\) level=INFO msg="list loaded".*/\1/p' "$dir/hikyaku.log" | head -n 1)
	[[ -n $tl ]] || fail "$label run $n: no \"list loaded\" line in $dir/hikyaku.log"
	RUN_SECS=$(secs "$t0" "$t1")
	RUN_LOAD=$(secs "$t0" "$(epoch_of "$tl")")
	RUN_SEND=$(secs "$(epoch_of "$tl")" "$t1")

	# What the store says: every row sent with 250, one attempt each.
	"$HK_BIN" campaign status --config "$dir/hikyaku.toml" --json "$name" >"$dir/status.json" 2>"$dir/status.err" ||
		fail "$label run $n: campaign status: $(cat "$dir/status.err")"
	st=$(python3 - "$ROWS" "$dir/status.json" <<'EOF'
import json, sys
rows, s = int(sys.argv[1]), json.load(open(sys.argv[2]))
states = {k: v for k, v in s["states"].items() if v}
problems = []
if s["recipients"] != rows:
    problems.append(f"{s['recipients']} recipients, want {rows}")
if states != {"sent": rows}:
    problems.append(f"states {states}, want sent={rows} only")
if s["codes"] != {"250": rows}:
    problems.append(f"final codes {s['codes']}, want 250={rows} only")
if s["attempts"] != rows:
    problems.append(f"{s['attempts']} attempts, want {rows}")
if problems:
    print("BAD " + "; ".join(problems))
else:
    finals = sum(states.values())
    print(f"OK {s['attempts'] + finals}")
EOF
	) || fail "$label run $n: reading campaign status"
	[[ $st == OK* ]] || fail "$label run $n: ${st#BAD }; status: $dir/status.json"
	RUN_WRITES=${st#OK }

	sink_settle
	read -r s1 m1 < <(sink_counts)
	# shellcheck disable=SC2086
	RUN_SESS=$((s1 - s0)) RUN_MESG=$((m1 - m0)) RUN_BUSY=$(busy_pct $c0 $c1)
	((RUN_MESG >= ROWS)) || fail "$label run $n: the sink counted $RUN_MESG messages, want $ROWS"

	if [[ -n $db ]]; then
		maria -D "$db" -e "ANALYZE TABLE recipients, attempts, scores" >/dev/null || true # fresh sizes
		RUN_STORE=$(maria -e "SELECT ROUND(SUM(data_length + index_length) / 1048576) FROM information_schema.tables WHERE table_schema = '$db'")
		maria -e "DROP DATABASE IF EXISTS \`$db\`" || echo "campaign.sh: warning: could not drop $db" >&2
	else
		RUN_STORE=$(du -sm "$dir/data" | awk '{ print $1 }')
	fi
	cp "$dir/hikyaku.log" "$WORK/campaign-$label-$n.log"
	[[ ${KEEP:-0} == 1 ]] || rm -rf "$dir"
}

# --- the rounds ---------------------------------------------------------------

MESSAGES=$REF_MESSAGES SIZE=$REF_SIZE
echo "$ROWS rows over $DOMAINS domains (campaign message ~$MSG_SIZE octets); reference $REF_MESSAGES messages of $REF_SIZE body octets; $RUNS run(s) each; sink $SINK" >&2
ref_rates=() ref_hwm=() ref_sess=() ref_size=-
declare -A c_rate c_srate c_kib c_wps c_lps c_cpu c_dbcpu c_sess c_busy c_load c_send c_store
labels=()
[[ $SKIP_EMBEDDED == 1 ]] || labels+=(embedded)
[[ -n $MARIA_NOTE ]] || labels+=(mariadb)
for ((r = 1; r <= RUNS; r++)); do
	if [[ $SKIP_REF != 1 ]]; then
		hk_drain_run "ref$r"
		ref_rates+=("$(rate "$MESSAGES" "$RUN_SECS")") ref_hwm+=("$RUN_HWM") ref_sess+=("$RUN_SESS") ref_size=$RUN_MSGSIZE
		echo "  run $r reference: ${RUN_SECS}s ${ref_rates[-1]} msgs/s, $RUN_SESS connections, VmHWM $RUN_HWM KiB," \
			"CPU hikyaku ${RUN_CPU}s sink ${RUN_SINKCPU}s, cores ${RUN_BUSY}% busy" >&2
	fi
	for l in "${labels[@]}"; do
		campaign_run "$l" "$r"
		c_rate[$l]+=" $(rate "$ROWS" "$RUN_SECS")"
		c_srate[$l]+=" $(rate "$ROWS" "$RUN_SEND")"
		c_kib[$l]+=" $RUN_KIB"
		c_wps[$l]+=" $(rate "$RUN_WRITES" "$RUN_SEND")"
		c_lps[$l]+=" $(rate "$ROWS" "$RUN_LOAD")"
		c_cpu[$l]+=" $RUN_CPU" c_dbcpu[$l]+=" $RUN_DBCPU" c_sess[$l]+=" $RUN_SESS" c_busy[$l]+=" $RUN_BUSY"
		c_load[$l]+=" $RUN_LOAD" c_send[$l]+=" $RUN_SEND" c_store[$l]+=" $RUN_STORE"
		echo "  run $r campaign/$l: ${RUN_SECS}s (load ${RUN_LOAD}s, send ${RUN_SEND}s) $(rate "$ROWS" "$RUN_SECS") msgs/s" \
			"(send phase $(rate "$ROWS" "$RUN_SEND")), peak RSS $RUN_KIB KiB (GNU time $RUN_TIMEKIB, sampled VmHWM $RUN_HWM)," \
			"$RUN_WRITES store writes = $(rate "$RUN_WRITES" "$RUN_SEND")/s, load $(rate "$ROWS" "$RUN_LOAD") rows/s," \
			"$RUN_SESS connections, CPU hikyaku ${RUN_CPU}s mariadbd ${RUN_DBCPU}s sink ${RUN_SINKCPU}s," \
			"cores ${RUN_BUSY}% busy, store ${RUN_STORE} MiB" >&2
	done
done

# --- the report ---------------------------------------------------------------

med() { if (($# > 0)); then median "$@"; else echo -; fi; }
pct() {
	[[ $1 == - || $2 == - ]] && { echo -; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%\n", 100 * a / b }'
}
mib() { [[ $1 == - ]] && echo - || awk -v k="$1" 'BEGIN { printf "%.0f\n", k / 1024 }'; }
verdict() {
	[[ $1 == - ]] && { echo "not measured"; return; }
	awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = op == "ge" ? v >= t : v <= t; print (ok ? "met" : "NOT met") }'
}
ref_med=$(med "${ref_rates[@]}")
fs=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
maria_settings=-
if [[ " ${labels[*]} " == *" mariadb "* ]]; then
	maria_settings=$(maria -e "SELECT CONCAT(VERSION(), ', innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit,
		', sync_binlog=', @@sync_binlog, ', log_bin=', @@log_bin, ', innodb_buffer_pool_size=', @@innodb_buffer_pool_size DIV 1048576, 'M')" 2>/dev/null || echo -)
fi
row() { printf '  %-26s %-24s %8s  %s\n' "$@"; }
{
	cat <<EOF

hikyaku campaign benchmark ($(nproc) cores, $(uname -r), $fs file system at $WORK)
load average at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)
list: $ROWS rows over $DOMAINS domains (d0.test …), template ~$MSG_SIZE octets composed; sink $SINK (smtp-sink), fake DNS
reference: $REF_MESSAGES pre-built messages of $ref_size octets (queuefill -size $REF_SIZE), hikyaku serve draining the relay queue
settings: [delivery] concurrency=$HK_CONCURRENCY per_host=$HK_PER_HOST messages_per_connection=$HK_MPC idle_timeout=$HK_IDLE; [campaign] concurrency=$HK_CONCURRENCY batch=$HK_BATCH rate=0
MariaDB: ${MARIA_NOTE:-$maria_settings}
median of $RUNS run(s); campaign times are the whole \`campaign run\` (list load + send); send phase = after "list loaded"
$(row "" "per run" median "")
$(row "reference msgs/s" "${ref_rates[*]:--}" "$ref_med" "connections ${ref_sess[*]:--}, VmHWM KiB ${ref_hwm[*]:--}")
EOF
	for l in "${labels[@]}"; do
		# shellcheck disable=SC2086
		{
			m=$(med ${c_rate[$l]})
			ms=$(med ${c_srate[$l]})
			k=$(med ${c_kib[$l]})
			w=$(med ${c_wps[$l]})
			lp=$(med ${c_lps[$l]})
		}
		row "$l msgs/s" "${c_rate[$l]# }" "$m" "$(pct "$m" "$ref_med") of reference (target >= 80%: $(verdict "$(pct "$m" "$ref_med" | tr -d %)" 80 ge))"
		row "$l send-phase msgs/s" "${c_srate[$l]# }" "$ms" "$(pct "$ms" "$ref_med") of reference"
		row "$l peak RSS MiB" "$(for x in ${c_kib[$l]}; do mib "$x"; done | xargs)" "$(mib "$k")" "target <= 256: $(verdict "$(mib "$k")" 256 le) (KiB:${c_kib[$l]})"
		row "$l store writes/s" "${c_wps[$l]# }" "$w" "attempt inserts + final updates over the send phase"
		row "$l list load rows/s" "${c_lps[$l]# }" "$lp" "load seconds:${c_load[$l]}, send seconds:${c_send[$l]}"
		row "$l other" "" "" "CPU s hikyaku:${c_cpu[$l]} mariadbd:${c_dbcpu[$l]}; connections:${c_sess[$l]}; cores busy %:${c_busy[$l]}; store MiB:${c_store[$l]}"
	done
	[[ -z $MARIA_NOTE ]] || row "mariadb" "" "" "$MARIA_NOTE"
	echo "  every campaign run: $ROWS recipients sent with 250, $ROWS attempts, none failed (campaign status --json); the sink counted them all"
}
