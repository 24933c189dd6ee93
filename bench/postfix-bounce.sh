# shellcheck shell=bash
# postfix-bounce.sh: a private Postfix instance that accepts mail and then
# bounces it, for the end-to-end bounce test (cmd/hikyaku's
# TestE2EBouncePostfix, issue 12). Sourced; built on bench/postfix-ref.sh's
# instance (same directory layout, loopback only, no DNS), with its discard
# transports replaced:
#
#   - LOCAL_DOMAIN (mydestination) is delivered by local(8). The receiver does
#     not check local recipients (local_recipient_maps is empty), so RCPT to
#     an unknown user gets 250 and the queued mail then bounces from local
#     delivery: "unknown user", 5.1.1.
#   - DEAD_DOMAIN is relayed to [127.0.0.1]:DEAD_PORT, where nothing listens,
#     with maximal_queue_lifetime = 0 (one attempt): the connection is refused
#     and the mail bounces at once.
#   - RETURN_DOMAIN (the campaign's VERP domain) goes to [127.0.0.1]:SERVE_PORT,
#     so Postfix's DSNs reach hikyaku serve. Every other domain goes to the
#     error(8) transport "retry" (no mail host lookup, nothing leaves
#     loopback); with the one-attempt lifetime it is returned at once.
#   The lifetime covers the DSNs too (Postfix caps bounce_queue_lifetime at
#   maximal_queue_lifetime): a DSN that serve defers (4xx) is not tried again
#   but expires, and the log says so; one it refuses (5xx) is logged bounced.
#
#   pfbounce_start DIR PORT LOCAL_DOMAIN DEAD_DOMAIN DEAD_PORT RETURN_DOMAIN SERVE_PORT
#   pfbounce_stop DIR          stop the instance (safe to call twice)
#   pfbounce_log DIR           path of the instance's mail log

_pfbounce_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/postfix-ref.sh
source "$_pfbounce_dir/postfix-ref.sh"

pfbounce_log() { pfref_log "$1"; }
pfbounce_stop() { pfref_stop "$1"; }

pfbounce_start() {
	local dir=$1 port=$2 local_domain=$3 dead_domain=$4 dead_port=$5 return_domain=$6 serve_port=$7
	if [[ -z $serve_port ]]; then
		echo "usage: pfbounce_start DIR PORT LOCAL_DOMAIN DEAD_DOMAIN DEAD_PORT RETURN_DOMAIN SERVE_PORT" >&2
		return 2
	fi
	pfref_start "$dir" "$port" || return 1
	postconf -c "$dir/conf" -e \
		"myhostname = mx.$local_domain" \
		"mydomain = $local_domain" \
		"myorigin = $local_domain" \
		"mydestination = $local_domain" \
		"local_recipient_maps =" \
		"local_transport = local" \
		"relay_domains = $dead_domain" \
		"relay_transport = smtp" \
		"default_transport = retry:off-loopback" \
		"transport_maps = inline:{ $dead_domain=smtp:[127.0.0.1]:$dead_port, $return_domain=smtp:[127.0.0.1]:$serve_port }" \
		"smtp_tls_security_level = none" \
		"smtp_connect_timeout = 5s" \
		"maximal_queue_lifetime = 0" \
		"bounce_queue_lifetime = 0" \
		"mailbox_size_limit = 0" \
		"queue_run_delay = 1s" \
		"minimal_backoff_time = 1s" \
		"maximal_backoff_time = 2s" \
		"delay_warning_time = 0" || return 1
	pfref_reload "$dir"
}
