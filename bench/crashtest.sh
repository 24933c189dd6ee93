#!/usr/bin/env bash
# crashtest.sh: kill -9 under load, KILLS times, and prove that every message
# answered 250 is delivered exactly once (docs/spec.md §2: "a 250 after the final dot
# means the message is on stable storage").
#
# Each round: benchclient crash sends on CRASH_SESSIONS sessions, each
# message with a unique X-Bench-Token, logging a token only after reading its
# 250 (and, separately, tokens whose final dot went out but whose reply never
# came: those may be delivered or not, but never twice). hikyaku gets SIGKILL
# 0.2-2 s into the load, is restarted on the same data directory, and once
# alice's Maildir stops growing every token in it is counted: an acknowledged
# token missing is a loss, any token present twice is a duplicate. The
# server is not cleaned between rounds, so recovery of earlier rounds' spool
# is tested again by every later one.
#
# Environment: KILLS (20) CRASH_SESSIONS (8) HK_PORT HK_HTTP (free ports)
# DRAIN_STABLE seconds without change after which what is missing is lost (5)
# DRAIN_TIMEOUT (120) BENCH_TMPDIR (/tmp) KEEP=1 keeps the work directory.
# HK_BIN=path skips the build (scripts/test passes its own).
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILLS=${KILLS:-20}
CRASH_SESSIONS=${CRASH_SESSIONS:-8}
DRAIN_STABLE=${DRAIN_STABLE:-5}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
read -r p1 p2 < <(free_ports 2)
HK_PORT=${HK_PORT:-$p1}
HK_HTTP=${HK_HTTP:-$p2}

CLIENT_PID=
bench_on_exit() {
	if [[ -n $CLIENT_PID ]]; then
		kill -TERM "$CLIENT_PID" 2>/dev/null || true
		wait "$CLIENT_PID" 2>/dev/null || true
	fi
}
bench_init crashtest.sh crash

if [[ -z ${HK_BIN:-} ]]; then
	echo "building..." >&2
	bench_build "$ROOT" "$WORK/bin"
	HK_BIN=$WORK/bin/hikyaku
	BC=$WORK/bin/benchclient
else
	BC=${BC:-$(dirname "$HK_BIN")/benchclient}
	[[ -x $BC ]] || (cd "$ROOT" && go build -o "$BC" ./bench/cmd/benchclient)
fi

hk_write_config "$WORK/hk" "$HK_PORT" "$HK_HTTP" 1000
hk_start "$WORK/hk"
MD=$(hk_maildir "$WORK/hk")

# wait_drained WANT: waits until every acknowledged token is in the Maildir
# and the Maildir has not changed for 1 s (so late duplicates show), or has
# not changed for DRAIN_STABLE s (what is missing then is lost), within
# DRAIN_TIMEOUT s. WANT is the file count that must be reached before the
# tokens are worth counting: all acknowledged messages plus the in-doubt
# ones kept in earlier rounds. Leaves the token counts in $WORK/counts.
wait_drained() {
	local want=$1 n last=-1 since t0
	t0=$SECONDS
	since=$SECONDS
	while ((SECONDS - t0 < DRAIN_TIMEOUT)); do
		n=$(maildir_count "$WORK/hk")
		if ((n != last)); then
			last=$n
			since=$SECONDS
		elif ((SECONDS - since >= DRAIN_STABLE)); then
			count_tokens >"$WORK/counts"
			return 0
		elif ((n >= want && SECONDS - since >= 1)); then
			count_tokens >"$WORK/counts"
			[[ -n $(missing_acked "$WORK/counts") ]] || return 0
		fi
		sleep 0.2
	done
	echo "crashtest.sh: Maildir still changing after ${DRAIN_TIMEOUT}s" >&2
	count_tokens >"$WORK/counts"
}

# missing_acked COUNTS: acknowledged tokens (all rounds) absent from COUNTS.
missing_acked() {
	awk 'NR == FNR { c[$2] = $1; next } !($1 in c)' "$1" "$WORK/acked-all"
}

# count_tokens: "count token" for every token in the Maildir. Header lines
# end in CRLF; the pattern stops before the CR.
count_tokens() {
	local - # a file without a token makes grep (so xargs) exit non-zero: not an error here
	set +o pipefail
	find "$MD/new" "$MD/cur" -maxdepth 1 -type f -print0 2>/dev/null |
		xargs -0 -r grep -ho '^X-Bench-Token: [^[:space:]]*' |
		sed 's/^X-Bench-Token: //' | sort | uniq -c | awk '{ print $1, $2 }'
}

: >"$WORK/acked-all"
kept_extra=0
: >"$WORK/lost-seen"
: >"$WORK/dups-seen"
survived=0
for ((k = 1; k <= KILLS; k++)); do
	ms=$((200 + RANDOM % 1801))
	delay=$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')
	"$BC" crash -addr "127.0.0.1:$HK_PORT" -sessions "$CRASH_SESSIONS" -prefix "k$k" \
		-acked "$WORK/acked-$k" -doubt "$WORK/doubt-$k" -duration 60s \
		>"$WORK/client-$k.out" 2>&1 &
	CLIENT_PID=$!
	sleep "$delay"
	hk_kill "$WORK/hk"
	client_rc=0
	wait "$CLIENT_PID" || client_rc=$?
	CLIENT_PID=
	if ((client_rc != 0)); then
		cat "$WORK/client-$k.out" >&2
		echo "crashtest.sh: FAIL: crash client exited $client_rc in round $k" >&2
		exit 1
	fi
	touch "$WORK/acked-$k" "$WORK/doubt-$k"
	cat "$WORK/acked-$k" >>"$WORK/acked-all"

	hk_start "$WORK/hk"
	wait_drained $(($(wc -l <"$WORK/acked-all") + kept_extra))
	mv "$WORK/counts" "$WORK/counts-$k"
	acked=$(wc -l <"$WORK/acked-$k")
	doubt=$(wc -l <"$WORK/doubt-$k")
	# Every acknowledged token so far (all rounds) must be there exactly once,
	# and no token of any round may be there twice. A fault is charged to the
	# round in which it first shows.
	missing_acked "$WORK/counts-$k" | sort >"$WORK/lost-now"
	awk '$1 > 1 { print $2 }' "$WORK/counts-$k" | sort >"$WORK/dups-now"
	lost=$(comm -23 "$WORK/lost-now" "$WORK/lost-seen" | tee "$WORK/lost-$k" | wc -l)
	dups=$(comm -23 "$WORK/dups-now" "$WORK/dups-seen" | tee "$WORK/dups-$k" | wc -l)
	sort -u -o "$WORK/lost-seen" "$WORK/lost-seen" "$WORK/lost-now"
	sort -u -o "$WORK/dups-seen" "$WORK/dups-seen" "$WORK/dups-now"
	# Tokens present that were never acknowledged: in-doubt messages kept.
	kept_extra=$(awk 'NR == FNR { a[$1] = 1; next } !($2 in a) { n++ } END { print n + 0 }' \
		"$WORK/acked-all" "$WORK/counts-$k")
	doubt_kept=$(awk 'NR == FNR { c[$2] = $1; next } ($1 in c) { n++ } END { print n + 0 }' \
		"$WORK/counts-$k" "$WORK/doubt-$k")
	printf 'kill %d/%d at %ss: acked %d, in doubt %d (%d kept), lost %d, duplicated %d\n' \
		"$k" "$KILLS" "$delay" "$acked" "$doubt" "$doubt_kept" "$lost" "$dups"
	head -n 5 "$WORK/lost-$k" | sed 's/^/  lost: /'
	head -n 5 "$WORK/dups-$k" | sed 's/^/  duplicated: /'
	if ((acked == 0)); then
		echo "  note: no message was acknowledged before the kill"
	fi
	if ((lost == 0 && dups == 0)); then
		survived=$((survived + 1))
	fi
done

if grep -qE '^panic: |^fatal error: ' "$WORK/hk/hikyaku.log"; then
	grep -m 5 -E '^panic: |^fatal error: ' "$WORK/hk/hikyaku.log" >&2
	echo "crashtest.sh: hikyaku panicked; see $WORK/hk/hikyaku.log" >&2
	survived=-1
fi
errors=$(grep -c 'level=ERROR' "$WORK/hk/hikyaku.log" || true)
if ((errors > 0)); then
	echo "hikyaku logged $errors errors over the run; first ones:"
	grep -m 3 'level=ERROR' "$WORK/hk/hikyaku.log" | cut -c1-300
fi
echo "kills survived with nothing lost: $survived/$KILLS"
((survived == KILLS))
