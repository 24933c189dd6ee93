// Command bouncetime times the bounce reader (internal/bounce) by itself,
// apart from the `hikyaku bounce parse` CLI, for bench/bounce.sh: it reads
// every mail file of the folders (or files) given, as bench/sisimai.pl
// does (a folder's plain files sorted by name, or its cur/ and new/ when
// present), runs bounce.Read on each and prints one line (the
// allocations with -allocs only):
//
//	mails=629 recipients=641 notmail=0 octets=2851234 elapsed=0.041s mails_per_s=15341 allocs_per_mail=231.4 bytes_per_mail=22362
//
// recipients counts the results of bounces and feedback reports (what
// sisimai.pl --quiet counts); elapsed is the reading loop, file reads
// included (on unix into one reused buffer, see readInto). Not part of
// hikyaku.
//
//	GOMAXPROCS=1 bouncetime CORPUS/maildir-bsd
//	GOMAXPROCS=1 bouncetime -memprofile /tmp/fresh.prof CORPUS/maildir-bsd
//	go tool pprof -sample_index=alloc_space -top /tmp/fresh.prof
//
// A fresh process's heap is new memory, each page a fault: -memprofile
// shows what a whole run allocates, start-up and first uses included.
//
// CORPUS is the public bounce corpus docs/bounce-corpus.md describes,
// kept in internal/bounce/testdata/corpus.
package main
