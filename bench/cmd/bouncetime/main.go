package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/hikyaku/hikyaku/internal/bounce"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: bouncetime FILE|DIR...")
		flag.PrintDefaults()
	}
	// ReadMemStats stops the world and flushes every span cache: a few
	// percent of a whole run, so the timed runs leave it out.
	allocs := flag.Bool("allocs", false, "count the allocations (runtime.ReadMemStats around the loop)")
	memprofile := flag.String("memprofile", "", "write a heap profile of every allocation (`FILE`, for go tool pprof -sample_index=alloc_space) of a fresh process's run")
	flag.Parse()
	if *memprofile != "" {
		runtime.MemProfileRate = 512
	}
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var files []string
	for _, arg := range flag.Args() {
		fs, err := mailFiles(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bouncetime:", err)
			os.Exit(1)
		}
		files = append(files, fs...)
	}

	var before, after runtime.MemStats
	if *allocs {
		runtime.ReadMemStats(&before)
	}
	start := time.Now()
	mails, recipients, notmail, octets := 0, 0, 0, 0
	var buf []byte
	for _, f := range files {
		msg, err := readInto(f, buf)
		buf = msg
		if err != nil {
			fmt.Fprintln(os.Stderr, "bouncetime:", err)
			os.Exit(1)
		}
		octets += len(msg)
		mails++
		rep, err := bounce.Read(msg, bounce.Options{})
		if err != nil {
			notmail++
			continue
		}
		if rep.Kind == bounce.KindBounce || rep.Kind == bounce.KindFeedback {
			recipients += len(rep.Results)
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("mails=%d recipients=%d notmail=%d octets=%d elapsed=%.4fs mails_per_s=%.0f",
		mails, recipients, notmail, octets, elapsed.Seconds(), float64(mails)/elapsed.Seconds())
	if *allocs {
		runtime.ReadMemStats(&after)
		per := func(v uint64) float64 { return float64(v) / float64(max(mails, 1)) }
		fmt.Printf(" allocs_per_mail=%.1f bytes_per_mail=%.0f", per(after.Mallocs-before.Mallocs), per(after.TotalAlloc-before.TotalAlloc))
	}
	fmt.Println()
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bouncetime:", err)
			os.Exit(1)
		}
	}
}

// mailFiles lists the mail files an argument names, as sisimai.pl does.
func mailFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	dirs := []string{}
	for _, sub := range []string{"cur", "new"} {
		if s, err := os.Stat(filepath.Join(path, sub)); err == nil && s.IsDir() {
			dirs = append(dirs, filepath.Join(path, sub))
		}
	}
	if len(dirs) == 0 {
		dirs = []string{path}
	}
	var out []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range ents {
			if e.Type().IsRegular() && e.Name()[0] != '.' {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, filepath.Join(d, n))
		}
	}
	return out, nil
}
