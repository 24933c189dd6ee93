// Command fakedns serves a zone file on loopback for benchmarks and manual
// tests, so hikyaku can be pointed at it with [delivery] dns_servers:
//
//	fakedns -listen 127.0.0.1:5353 -zone zone.txt [-fail name=SERVFAIL] [-drop name]
//
// SIGHUP reloads the zone file. Only loopback listen addresses are accepted.
package main
