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
# hk_* keep their state in files under DIR (hikyaku.toml, hikyaku.pid,
# hikyaku.log, data/), so a trap can clean up whatever was started.

# shellcheck source=bench/postfix-ref.sh
source "$(dirname "${BASH_SOURCE[0]}")/postfix-ref.sh"

HK_DOMAIN=${HK_DOMAIN:-example.test}
HK_USER=${HK_USER:-alice}
HK_LOG_LEVEL=${HK_LOG_LEVEL:-info}

now() { date +%s.%N; }

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
