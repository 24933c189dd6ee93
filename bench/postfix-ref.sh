# shellcheck shell=bash
# postfix-ref.sh: a private Postfix instance for reference measurements,
# sourced by the bench scripts. Everything lives under one directory of ours:
# config_directory (main.cf, master.cf), queue_directory, data_directory and
# the mail log. The system instance (/etc/postfix, port 25) is never touched.
#
# The instance accepts mail for example.test on a loopback port and delivers
# it to the discard transport, so what we time is what a receiver does before
# answering 250: smtpd, cleanup (which fsyncs the queue file: the durability
# hikyaku is compared against), and the queue manager keeping up behind it.
#
# No DNS: peer names are not looked up, DNS lookups are disabled, and the
# chrooted daemons see a resolver configuration of their own (hosts file only,
# nameserver on a loopback port where nothing answers).
#
#   pfref_start DIR PORT   write config under DIR, start, wait for PORT
#   pfref_stop DIR         stop the instance (safe to call twice)
#   pfref_log DIR          path of the instance's mail log
#   wait_port HOST PORT [SECONDS]

PFREF_DAEMON_DIR=${PFREF_DAEMON_DIR:-$(postconf -dh daemon_directory 2>/dev/null || echo /usr/lib/postfix/sbin)}

wait_port() {
	local host=$1 port=$2 secs=${3:-30} i
	for ((i = 0; i < secs * 10; i++)); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "wait_port: nothing listening on $host:$port after ${secs}s" >&2
	return 1
}

pfref_log() { echo "$1/log/maillog"; }

pfref_start() {
	local dir=$1 port=$2
	if [[ -z $dir || -z $port ]]; then
		echo "usage: pfref_start DIR PORT" >&2
		return 2
	fi
	if [[ $EUID -ne 0 ]]; then
		echo "pfref_start: Postfix must be started as root" >&2
		return 1
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "pfref_start: port 127.0.0.1:$port is already in use" >&2
		return 1
	fi
	mkdir -p "$dir"/{conf,queue,data,log}
	# Postfix insists on root-owned, non-writable parents for its directories,
	# and the postfix user must be able to reach the queue.
	chown root:root "$dir" "$dir/conf" "$dir/queue" "$dir/log"
	chmod 755 "$dir" "$dir/conf" "$dir/queue" "$dir/log"
	chown postfix:postfix "$dir/data"
	local d=$dir
	while [[ $d != / ]]; do
		d=$(dirname "$d")
		chmod o+x "$d" 2>/dev/null || true
	done

	cat >"$dir/conf/main.cf" <<EOF
# private reference instance (bench/postfix-ref.sh); not the system Postfix
compatibility_level = 3.6
config_directory = $dir/conf
queue_directory = $dir/queue
data_directory = $dir/data
maillog_file = $dir/log/maillog
maillog_file_prefixes = $dir/log
mail_owner = postfix
setgid_group = postdrop
myhostname = mx-ref.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
master_service_disable =
alias_maps =
alias_database =
local_recipient_maps =
default_transport = discard
local_transport = discard:
relay_transport = discard
smtpd_client_restrictions = permit
smtpd_helo_restrictions = permit
smtpd_sender_restrictions = permit
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtp_host_lookup = native
lmtp_host_lookup = native
disable_dns_lookups = yes
smtp_dns_support_level = disabled
biff = no
append_dot_mydomain = no
readme_directory = no
smtputf8_enable = yes
message_size_limit = 52428800
EOF

	# One smtpd listener on the loopback port; chroot where the daemon allows
	# it, so the resolver files below are the only ones those daemons see.
	cat >"$dir/conf/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$port inet n     -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

	# Resolver files for the chrooted daemons: hosts file only.
	mkdir -p "$dir/queue/etc"
	printf 'hosts: files\nservices: files\n' >"$dir/queue/etc/nsswitch.conf"
	printf '127.0.0.1\tlocalhost mx-ref.example.test\n' >"$dir/queue/etc/hosts"
	printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n' >"$dir/queue/etc/resolv.conf"
	for f in /etc/services /etc/localtime; do
		[[ -e $f ]] && cp -L "$f" "$dir/queue/etc/"
	done

	: >"$dir/log/maillog"
	if ! postfix -c "$dir/conf" start >"$dir/log/start.out" 2>&1; then
		echo "pfref_start: postfix start failed:" >&2
		cat "$dir/log/start.out" "$dir/log/maillog" >&2
		# Before its logger runs, postfix reports fatal errors only to syslog or
		# to a terminal; ask again through a pseudo-terminal to show why.
		if command -v script >/dev/null 2>&1; then
			script -qc "postfix -c '$dir/conf' check" /dev/null >&2 || true
		fi
		return 1
	fi
	wait_port 127.0.0.1 "$port" 30 || {
		cat "$dir/log/maillog" >&2
		return 1
	}
}

pfref_stop() {
	local dir=$1 i pid
	[[ -f $dir/conf/main.cf ]] || return 0
	postfix -c "$dir/conf" status >/dev/null 2>&1 || return 0
	pid=$(tr -d ' \n' <"$dir/queue/pid/master.pid" 2>/dev/null) || pid=
	postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
	# master exits after its children; wait so the queue dir can be removed
	[[ -n $pid ]] || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
}

# pfref_queue_empty DIR: true when nothing is waiting in the instance's queues.
pfref_queue_empty() {
	local dir=$1 q
	for q in incoming active deferred maildrop; do
		[[ -z $(find "$dir/queue/$q" -type f -print -quit 2>/dev/null) ]] || return 1
	done
}

# Relay mode, for bench/delivery.sh: the same instance, turned into a relay
# that sends every non-local domain to one next hop with its smtp client.
#
#   pfref_relay DIR NEXTHOP    NEXTHOP as "[ip]:port" (no DNS, no MX lookup);
#                              mail is held (defer_transports = smtp) until
#   pfref_defer DIR on|off     off: deliver again (then `postqueue -f`)
#   pfref_reload DIR           postfix reload, waiting until the master has
#   pfref_queue_count DIR Q    files in one queue (deferred, active, ...)
#
# Destination concurrency stays at Postfix's default (20 per next hop,
# starting at 5), as does connection caching (on demand, 2 s idle).

pfref_reload() {
	local dir=$1 log before i
	log=$(pfref_log "$dir")
	before=$(grep -c 'postfix/master.*: reload ' "$log" || true)
	postfix -c "$dir/conf" reload >>"$dir/log/start.out" 2>&1 || {
		echo "pfref_reload: postfix reload failed" >&2
		return 1
	}
	for ((i = 0; i < 100; i++)); do
		(($(grep -c 'postfix/master.*: reload ' "$log" || true) > before)) && return 0
		sleep 0.1
	done
	echo "pfref_reload: no reload line in $log after 10s" >&2
	return 1
}

pfref_relay() {
	local dir=$1 nexthop=$2
	postconf -c "$dir/conf" -e \
		"default_transport = smtp" \
		"relay_transport = smtp" \
		"relayhost = $nexthop" \
		"smtp_tls_security_level = none" \
		"defer_transports = smtp" || return 1
	pfref_reload "$dir"
}

pfref_defer() {
	local dir=$1 on=$2 v=
	[[ $on == on ]] && v=smtp
	postconf -c "$dir/conf" -e "defer_transports = $v" || return 1
	pfref_reload "$dir"
}

pfref_queue_count() {
	find "$1/queue/$2" -type f 2>/dev/null | wc -l
}
