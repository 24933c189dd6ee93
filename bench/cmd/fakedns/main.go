package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/miekg/dns"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	listen := flag.String("listen", "127.0.0.1:5353", "loopback address for UDP and TCP")
	zoneFile := flag.String("zone", "", "RFC 1035 master file to serve (required)")
	var fails, drops listFlag
	flag.Var(&fails, "fail", "NAME=RCODE: answer every query for NAME with RCODE (SERVFAIL, REFUSED, …); repeatable")
	flag.Var(&drops, "drop", "NAME: never answer queries for NAME; repeatable")
	flag.Parse()
	if *zoneFile == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	opt := dnsfake.Options{Addr: *listen, Fail: map[string]int{}, Drop: map[string]bool{}}
	for _, f := range fails {
		name, rc, ok := strings.Cut(f, "=")
		code, known := dns.StringToRcode[strings.ToUpper(rc)]
		if !ok || !known {
			log.Fatalf("fakedns: -fail %q: want NAME=RCODE with a known rcode", f)
		}
		opt.Fail[name] = code
	}
	for _, d := range drops {
		opt.Drop[d] = true
	}
	text, err := os.ReadFile(*zoneFile)
	if err != nil {
		log.Fatal(err)
	}
	opt.Zone = string(text)
	srv, err := dnsfake.Start(opt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "fakedns: serving %s on %s (udp+tcp)\n", *zoneFile, srv.Addr)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	for s := range sig {
		if s != syscall.SIGHUP {
			break
		}
		text, err := os.ReadFile(*zoneFile)
		if err == nil {
			err = srv.SetZone(string(text))
		}
		if err != nil {
			log.Printf("fakedns: reload: %v (keeping the old zone)", err)
			continue
		}
		log.Printf("fakedns: reloaded %s", *zoneFile)
	}
	fmt.Fprintf(os.Stderr, "fakedns: %d queries answered\n", srv.Queries())
	srv.Close()
}
