#!/usr/bin/perl
# Verifies the DKIM signatures of the message on stdin with Mail::DKIM
# (libmail-dkim-perl), asking the key records of the DNS server at
# 127.0.0.1:$DNS_PORT (the test's dnsfake). One line per signature:
# "RESULT DOMAIN SELECTOR ALGORITHM DETAIL".
use strict;
use warnings;
use Net::DNS::Resolver;
use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;

my $res = Net::DNS::Resolver->new(
	nameservers => ['127.0.0.1'],
	port        => $ENV{DNS_PORT},
	recurse     => 1,
	udp_timeout => 5,
	tcp_timeout => 5,
	retry       => 1,
);
Mail::DKIM::DNS::resolver($res);

binmode STDIN;
local $/;
my $msg = <STDIN>;
my $v = Mail::DKIM::Verifier->new();
$v->PRINT($msg);
$v->CLOSE;
for my $sig ($v->signatures) {
	print join(' ', $sig->result, $sig->domain, $sig->selector, $sig->algorithm, ($sig->result_detail // '')), "\n";
}
