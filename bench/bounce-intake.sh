#!/usr/bin/env bash
# bounce-intake.sh: serve's bounce intake under a bounded load (issue 12):
# SMTP in at the VERP addresses, durable in data_dir/bounces, read by the
# bounce reader, recorded in the status store (embedded SQLite).
#
#   1. plain: smtp-source -s CONCURRENCY -m PLAIN -l SIZE to a local
#      mailbox, alone: the receiver's messages/s.
#   2. bounces: BOUNCES RFC 3464 DSNs, each to the signed VERP address of
#      its own row of a loaded campaign, over CONNS connections (a Python
#      client, one process per connection, null sender, one mail per
#      transaction, MAIL/RCPT/DATA pipelined): accepted/s (last 250) and
#      recorded/s (until the last one is in the store, from
#      hikyaku_bounces_total).
#   3. mixed: phase 1 and phase 2 at once (other rows): the receiver's
#      plain messages/s with the bounce load beside it, and bounces/s.
#
# Every bounce must end recorded exactly once (hikyaku_bounces_total
# outcome="recorded" = 2 x BOUNCES, bounces/new empty, bounces/cur holds
# 2 x BOUNCES) and every plain message must be in the Maildir. Loopback
# only; nothing is sent out (the campaign is loaded with --load-only), so
# no DNS is asked at all.
#
# Environment: BOUNCES (5000) CONNS (20) PLAIN (20000) CONCURRENCY (20)
# SIZE (1024) HK_PORT HK_HTTP (default: free loopback ports)
# BENCH_TMPDIR (/tmp) KEEP=1 keeps the work directory.
# Quick mode: BOUNCES=1000 PLAIN=4000 bench/bounce-intake.sh
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BOUNCES=${BOUNCES:-5000}
CONNS=${CONNS:-20}
PLAIN=${PLAIN:-20000}
CONCURRENCY=${CONCURRENCY:-20}
SIZE=${SIZE:-1024}
SMTP_SOURCE=/usr/sbin/smtp-source

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
read -r p1 p2 < <(free_ports 2)
HK_PORT=${HK_PORT:-$p1}
HK_HTTP=${HK_HTTP:-$p2}

[[ -x $SMTP_SOURCE ]] || "$ROOT/scripts/setup-test-deps" >&2

CLIENT_PIDS=()
bench_on_exit() {
	local pid
	for pid in "${CLIENT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
}
bench_init bounce-intake.sh bounce
echo "building..." >&2
bench_build "$ROOT" "$WORK/bin"
HK_BIN=$WORK/bin/hikyaku
HK=$WORK/hk

hk_write_config "$HK" "$HK_PORT" "$HK_HTTP" 2000
cat >>"$HK/hikyaku.toml" <<EOF

[campaign]
return_path_domain = "bounce.example.test"

[bounce]
retry = "1s"
EOF

# The campaign whose rows bounce: 2 x BOUNCES rows, loaded, not sent.
python3 - "$WORK/list.tsv" $((2 * BOUNCES)) <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("email\tname\n")
    for i in range(1, int(sys.argv[2]) + 1):
        f.write(f"user{i}@d{i % 10}.test\tUser {i}\n")
EOF
printf 'From: Shop <news@example.test>\nTo: {{.email}}\nSubject: Hello {{.name}}\n\nDear {{.name}}.\n' >"$WORK/msg.eml"
"$HK_BIN" campaign run --config "$HK/hikyaku.toml" --list "$WORK/list.tsv" --template "$WORK/msg.eml" \
	--name bench --load-only >"$WORK/load.out" 2>&1 || { cat "$WORK/load.out" >&2; fail "campaign load"; }
KEY=$HK/data/verp.key
[[ -s $KEY ]] || fail "no VERP key at $KEY"

hk_start "$HK"

# The bounce client: CONNS processes, rows FIRST..LAST split among them.
cat >"$WORK/bounces.py" <<'EOF'
# One process per connection, each a raw SMTP client that pipelines MAIL,
# RCPT and DATA (RFC 2920; serve offers PIPELINING) as a bouncing MTA
# does: smtplib's round trip per command made the client the limit (it
# did about 1,500 mails/s against Postfix's smtp-sink on this machine).
import base64, hashlib, hmac, multiprocessing, os, socket, sys, time

host, port, keyfile, first, last, conns = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
key = open(keyfile, "rb").read()

def verp(campaign, row, domain="bounce.example.test"):
    # internal/verp: HMAC-SHA256(key, lower(campaign) NUL row), 10 base32 chars
    h = hmac.new(key, campaign.lower().encode() + b"\0" + str(row).encode(), hashlib.sha256).digest()
    return f"bounce+{campaign}-{row}-{base64.b32encode(h).decode()[:10].lower()}@{domain}"

def dsn(row):
    to, rcpt = verp("bench", row), f"user{row}@d{row % 10}.test"
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.peer.test>\r\nTo: {to}\r\n"
            f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{row}.bounce@mx.peer.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
            f"--B\r\nContent-Type: text/plain\r\n\r\n<{rcpt}>: host mx.peer.test[127.0.0.2] said: 550 5.1.1 user unknown\r\n\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.peer.test\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
            f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nReturn-Path: <{to}>\r\nTo: {rcpt}\r\nSubject: Hello\r\n\r\n--B--\r\n").encode(), to

class Conn:
    def __init__(self):
        self.s = socket.create_connection((host, port), timeout=60)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def reply(self):
        # one reply, multi-line or not: its code and last line
        while True:
            while b"\r\n" not in self.buf:
                more = self.s.recv(65536)
                if not more:
                    raise SystemExit("connection closed by the server")
                self.buf += more
            line, self.buf = self.buf.split(b"\r\n", 1)
            if line[3:4] != b"-":
                return int(line[:3]), line.decode(errors="replace")

    def expect(self, code, what):
        c, text = self.reply()
        if c != code:
            raise SystemExit(f"{what}: {text}")

def worker(k):
    c = Conn()
    c.expect(220, "greeting")
    c.s.sendall(b"EHLO mx.peer.test\r\n")
    c.expect(250, "EHLO")
    n = 0
    for row in range(first + k, last + 1, conns):
        msg, to = dsn(row)
        c.s.sendall(f"MAIL FROM:<>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode())
        c.expect(250, f"row {row} MAIL")
        c.expect(250, f"row {row} RCPT")
        c.expect(354, f"row {row} DATA")
        c.s.sendall(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        c.expect(250, f"row {row} end of data")
        n += 1
    c.s.sendall(b"QUIT\r\n")
    c.expect(221, "QUIT")
    return n

if __name__ == "__main__":
    t0 = time.time()
    with multiprocessing.Pool(conns) as p:
        n = sum(p.map(worker, range(conns)))
    wall = time.time() - t0
    t = os.times()
    print(f"sent {n} cpu {t.user + t.system + t.children_user + t.children_system:.3f} {wall:.3f}")
EOF

recorded() { metric_sum "$HK" hikyaku_bounces_total 'outcome="recorded"'; }

# serve_cpu: CPU seconds serve has used (user + system).
TICKS=$(getconf CLK_TCK)
serve_cpu() { awk -v t="$TICKS" '{ printf "%.2f\n", ($14 + $15) / t }' "/proc/$(hk_pid "$HK")/stat"; }

# bounce_run FIRST LAST: sends the DSNs of rows FIRST..LAST and waits until
# all are recorded; sets B_ACCEPT (bounces/s to the last 250), B_RATE
# (bounces/s recorded), and B_SERVE_MS and B_CLIENT_MS (CPU milliseconds
# per bounce of serve, until all are recorded, and of the client).
bounce_run() {
	local first=$1 last=$2 want t0 out r0 n i c0
	r0=$(recorded)
	want=$((r0 + last - first + 1))
	c0=$(serve_cpu)
	t0=$(now)
	out=$(python3 "$WORK/bounces.py" 127.0.0.1 "$HK_PORT" "$KEY" "$first" "$last" "$CONNS" 2>"$WORK/bounces.err") ||
		{ cat "$WORK/bounces.err" >&2; fail "bounce client"; }
	B_ACCEPT=$(rate $((last - first + 1)) "${out##* }")
	for ((i = 0; i < 6000; i++)); do
		n=$(recorded)
		((n >= want)) && break
		sleep 0.05
	done
	((n >= want)) || fail "only $((n - r0)) of $((last - first + 1)) bounces recorded after 300s"
	B_RATE=$(rate $((last - first + 1)) "$(secs "$t0" "$(now)")")
	B_SERVE_MS=$(awk -v a="$c0" -v b="$(serve_cpu)" -v n=$((last - first + 1)) 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')
	B_CLIENT_MS=$(awk -v c="$(cut -d' ' -f4 <<<"$out")" -v n=$((last - first + 1)) 'BEGIN { printf "%.2f", c * 1000 / n }')
}

# plain_run LABEL: one smtp-source run to alice; prints msgs/s.
plain_run() {
	local t0 t1 rc=0
	t0=$(now)
	"$SMTP_SOURCE" -s "$CONCURRENCY" -m "$PLAIN" -l "$SIZE" -f sender@example.test -t alice@example.test \
		"127.0.0.1:$HK_PORT" >"$WORK/source-$1.out" 2>"$WORK/source-$1.err" || rc=$?
	t1=$(now)
	((rc == 0)) && [[ ! -s $WORK/source-$1.err ]] || { head "$WORK/source-$1.err" >&2; fail "smtp-source $1 exited $rc"; }
	rate "$PLAIN" "$(secs "$t0" "$t1")"
}

echo "warm-up: 1000 plain messages" >&2
M=$PLAIN
PLAIN=1000
plain_run warmup >/dev/null
PLAIN=$M
EXPECT=1000

echo "1. plain alone: smtp-source -s $CONCURRENCY -m $PLAIN -l $SIZE" >&2
plain_alone=$(plain_run alone)
EXPECT=$((EXPECT + PLAIN))
wait_maildir "$HK" "$EXPECT" 300 >/dev/null || fail "Maildir incomplete after the plain run"
echo "   $plain_alone msgs/s" >&2

echo "2. bounces alone: $BOUNCES DSNs over $CONNS connections" >&2
bounce_run 1 "$BOUNCES"
alone_accept=$B_ACCEPT alone_rate=$B_RATE alone_serve=$B_SERVE_MS alone_client=$B_CLIENT_MS
echo "   accepted $alone_accept/s, recorded $alone_rate/s; CPU ms per bounce: serve $alone_serve, client $alone_client" >&2

echo "3. mixed: the plain run and $BOUNCES more DSNs at once" >&2
plain_run mixed >"$WORK/mixed.rate" &
ppid=$!
CLIENT_PIDS+=("$ppid")
bounce_run $((BOUNCES + 1)) $((2 * BOUNCES))
wait "$ppid" || fail "plain run beside the bounces"
plain_mixed=$(cat "$WORK/mixed.rate")
EXPECT=$((EXPECT + PLAIN))
echo "   plain $plain_mixed msgs/s; bounces accepted $B_ACCEPT/s, recorded $B_RATE/s" >&2

# Exactly once, nothing left behind.
sleep 1
total=$(recorded)
((total == 2 * BOUNCES)) || fail "recorded $total bounces, want exactly $((2 * BOUNCES))"
left=$(find "$HK/data/bounces/new" -type f | wc -l)
kept=$(find "$HK/data/bounces/cur" -type f | wc -l)
((left == 0 && kept == 2 * BOUNCES)) || fail "bounces/new holds $left, bounces/cur $kept (want 0 and $((2 * BOUNCES)))"
n=$(wait_maildir "$HK" "$EXPECT" 300) || fail "Maildir holds $n plain messages, want $EXPECT"
codes=$(python3 - "$(cat "$HK/http")" <<'EOF'
import re, sys, urllib.request
body = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
print(" ".join(f"{m.group(1)}/{m.group(2)}/{m.group(3)}={float(m.group(4)):.0f}" for m in re.finditer(r'^hikyaku_bounces_total\{kind="([^"]*)",outcome="([^"]*)",reason="([^"]*)"\} (\S+)$', body, re.M)))
EOF
)
if grep -qE '^panic: |^fatal error: |level=ERROR' "$HK/hikyaku.log"; then
	grep -m 5 -E '^panic: |^fatal error: |level=ERROR' "$HK/hikyaku.log" >&2
	fail "hikyaku logged errors; log: $HK/hikyaku.log"
fi

fs=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
cat <<EOF

hikyaku bounce intake benchmark ($(nproc) cores, $(uname -r), $fs file system at $WORK)
load average at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)
bounces: $BOUNCES RFC 3464 DSNs per phase, one per VERP row, $CONNS connections, SMTP in (spool, synced) -> data_dir/bounces (journal synced per batch, Maildir by syncfs each second) -> read -> status store
  alone:  accepted $alone_accept/s, recorded $alone_rate/s (target >= 2000/s); CPU ms per bounce: serve $alone_serve, client $alone_client
  mixed:  accepted $B_ACCEPT/s, recorded $B_RATE/s
  every bounce recorded exactly once: $total; bounces/new empty, bounces/cur $kept; by kind/outcome/reason: $codes
plain mail: smtp-source -s $CONCURRENCY -m $PLAIN -l $SIZE to a local mailbox
  alone: $plain_alone msgs/s; beside the bounce load: $plain_mixed msgs/s ($(awk -v a="$plain_mixed" -v b="$plain_alone" 'BEGIN { printf "%.2f", a / b }') of alone)
EOF
