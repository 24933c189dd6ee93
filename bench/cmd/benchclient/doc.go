// Command benchclient holds the SMTP clients the bench scripts need and
// smtp-source does not provide: idle sessions for the memory measurement,
// a latency probe, the crash-test sender that logs exactly which
// messages were acknowledged, and a load generator that can use STARTTLS
// and AUTH. Loopback use only; not part of hikyaku.
//
//	benchclient idle  -addr 127.0.0.1:2525 -n 10000
//	benchclient probe -addr 127.0.0.1:2525 -to alice@example.test
//	benchclient crash -addr 127.0.0.1:2525 -to alice@example.test -prefix r1 -acked FILE
//	benchclient load  -addr 127.0.0.1:2525 -messages 20000 -per-session 10 -tls [-auth USER:PASS]
package main
