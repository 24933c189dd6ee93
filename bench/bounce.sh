#!/usr/bin/env bash
# bounce.sh: the bounce reader's targets (issue 12, "Targets"), side by
# side in one run on the public corpus (internal/bounce/testdata/corpus,
# 629 mails; docs/bounce-corpus.md says where it comes from):
#
#   1. speed: bench/cmd/bouncetime (bounce.Read over every file, nothing
#      else) with GOMAXPROCS=1 against one perl process of
#      bench/sisimai.pl --quiet (Sisimai 4.25, Debian's libsisimai-perl),
#      interleaved RUNS times, whole processes timed (start to exit, file
#      reads, start-up and Perl's module loading included); and, when the
#      CLI has it, `hikyaku bounce parse` over the same folder (GOMAXPROCS=1,
#      output kept in the work directory). Medians, mails/s, the ratio
#      (target >= 10x, aiming for 20x) of wall-clock and, with GNU time, of
#      CPU seconds (steadier on a busy machine), allocations per mail (from
#      bouncetime);
#   2. agreement: `go test ./internal/bounce -run '^TestCorpus$' -v`, its
#      "corpus agreement:" line (target >= 97% of the recipients).
#
# Environment (defaults):
#   HIKYAKU_BOUNCE_CORPUS (ROOT/internal/bounce/testdata/corpus)  holds maildir-bsd/
#   RUNS (5)               interleaved rounds of each
#   BENCH_TMPDIR (/tmp)    KEEP=1 keeps the work directory
#   SKIP_AGREEMENT=1       leave the corpus test out
# Quick: RUNS=1 bench/bounce.sh
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
CORPUS=${HIKYAKU_BOUNCE_CORPUS:-$ROOT/internal/bounce/testdata/corpus}
MAILS=$CORPUS/maildir-bsd
SKIP_AGREEMENT=${SKIP_AGREEMENT:-0}
((RUNS > 0)) || {
	echo "bounce.sh: RUNS must be positive" >&2
	exit 2
}

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
BENCH_NAME=bounce.sh

[[ -d $MAILS ]] || fail "no corpus at $MAILS (set HIKYAKU_BOUNCE_CORPUS to the folder holding maildir-bsd/)"
if ! perl -MSisimai -e 1 2>/dev/null; then
	"$ROOT/scripts/setup-test-deps" >&2
	perl -MSisimai -e 1 2>/dev/null || fail "Sisimai (libsisimai-perl) is not installed; see scripts/setup-test-deps"
fi

bench_init bounce.sh bounce

mkdir -p "$WORK/bin"
(cd "$ROOT" && go build -o "$WORK/bin/bouncetime" ./bench/cmd/bouncetime) || fail "go build ./bench/cmd/bouncetime failed"
CLI=0
if (cd "$ROOT" && go build -o "$WORK/bin/hikyaku" ./cmd/hikyaku) 2>"$WORK/build.err"; then
	if "$WORK/bin/hikyaku" bounce parse --help >/dev/null 2>&1; then
		CLI=1
	else
		echo "bounce.sh: this hikyaku has no 'bounce parse'; timing the reader and Sisimai only" >&2
	fi
else
	echo "bounce.sh: go build ./cmd/hikyaku failed; timing the reader and Sisimai only:" >&2
	tail -n 5 "$WORK/build.err" >&2
fi

NMAILS=$(find "$MAILS" -maxdepth 1 -type f ! -name '.*' | wc -l)
OCTETS=$(find "$MAILS" -maxdepth 1 -type f ! -name '.*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
((NMAILS > 0)) || fail "no mails in $MAILS"
echo "corpus: $MAILS, $NMAILS mails, $OCTETS octets; $RUNS interleaved runs, one core each" >&2

# GNU time, when there, adds each process's CPU seconds (user + system):
# steadier than wall-clock on a machine that is busy with other work.
GNUTIME=0
if [[ -x /usr/bin/time ]] && /usr/bin/time --version 2>&1 | grep -q GNU; then
	GNUTIME=1
fi

# timed LABEL CMD...: runs CMD (stdout to WORK/LABEL.out), prints its
# wall-clock seconds, the whole process from start to exit, and its CPU
# seconds ("-" without GNU time). The clock is bash's EPOCHREALTIME where
# there is one: $(now) forks a shell and date(1) inside the timed span,
# a few milliseconds on each side that weigh on the faster one.
timed() {
	local label=$1 t0 t1 cpu=-
	shift
	t0=${EPOCHREALTIME:-$(now)}
	if ((GNUTIME)); then
		/usr/bin/time -f '%U %S' -o "$WORK/$label.time" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" ||
			fail "$label: $* failed: $(tail -n 3 "$WORK/$label.err")"
	else
		"$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || fail "$label: $* failed: $(tail -n 3 "$WORK/$label.err")"
	fi
	t1=${EPOCHREALTIME:-$(now)}
	if ((GNUTIME)); then
		cpu=$(awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { printf "%.3f\n", $1 + $2 }' "$WORK/$label.time" | tail -n 1)
	fi
	echo "$(secs "$t0" "$t1") ${cpu:--}"
}

GO_T=() PL_T=() CLI_T=() GO_C=() PL_C=() CLI_C=()
for ((i = 1; i <= RUNS; i++)); do
	# GOMAXPROCS in the environment, not through env(1): one exec fewer.
	read -r w c < <(GOMAXPROCS=1 timed go "$WORK/bin/bouncetime" "$MAILS")
	GO_T+=("$w") GO_C+=("$c")
	read -r w c < <(timed perl perl "$ROOT/bench/sisimai.pl" --quiet "$MAILS")
	PL_T+=("$w") PL_C+=("$c")
	if ((CLI)); then
		read -r w c < <(GOMAXPROCS=1 timed cli "$WORK/bin/hikyaku" bounce parse "$MAILS")
		CLI_T+=("$w") CLI_C+=("$c")
	fi
	echo "run $i: reader ${GO_T[-1]}s (cpu ${GO_C[-1]})  sisimai ${PL_T[-1]}s (cpu ${PL_C[-1]})${CLI_T:+  cli ${CLI_T[-1]}s (cpu ${CLI_C[-1]})}" >&2
done

# medians of fractional seconds (lib.sh's median rounds to integers).
fmedian() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.4f\n", v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mps() { awk -v n="$NMAILS" -v s="$1" 'BEGIN { printf "%.0f\n", n / s }'; }

GO_MED=$(fmedian "${GO_T[@]}")
PL_MED=$(fmedian "${PL_T[@]}")
RATIO=$(awk -v a="$PL_MED" -v b="$GO_MED" 'BEGIN { printf "%.1f\n", a / b }')
GO_CPU=- PL_CPU=- CLI_CPU=- CPU_RATIO=-
if ((GNUTIME)); then
	GO_CPU=$(fmedian "${GO_C[@]}")
	PL_CPU=$(fmedian "${PL_C[@]}")
	CPU_RATIO=$(awk -v a="$PL_CPU" -v b="$GO_CPU" 'BEGIN { if (b > 0) printf "%.1f\n", a / b; else print "-" }')
fi
GO_LINE=$(cat "$WORK/go.out")
# Allocations from one more, untimed run: counting them (ReadMemStats)
# costs the timed runs a few percent.
ALLOC_LINE=$(GOMAXPROCS=1 "$WORK/bin/bouncetime" -allocs "$MAILS" 2>/dev/null || true)
ALLOCS=$(sed -n 's/.*allocs_per_mail=\([0-9.]*\).*/\1/p' <<<"$ALLOC_LINE")
BYTES=$(sed -n 's/.*bytes_per_mail=\([0-9.]*\).*/\1/p' <<<"$ALLOC_LINE")
GO_RCPT=$(sed -n 's/.*recipients=\([0-9]*\).*/\1/p' <<<"$GO_LINE")
PL_RCPT=$(tail -n 1 "$WORK/perl.out")
INNER=$(sed -n 's/.*elapsed=\([0-9.]*\)s.*/\1/p' <<<"$GO_LINE")

AGREE="skipped (SKIP_AGREEMENT=1)"
if [[ $SKIP_AGREEMENT != 1 ]]; then
	(cd "$ROOT" && HIKYAKU_BOUNCE_CORPUS=$CORPUS go test -count=1 ./internal/bounce -run '^TestCorpus$' -v) >"$WORK/corpus.log" 2>&1 || true
	AGREE=$(grep -m 1 -o 'corpus agreement:.*' "$WORK/corpus.log" || true)
	if [[ -z $AGREE ]]; then
		AGREE="no 'corpus agreement:' line; last lines of the test:"
		tail -n 5 "$WORK/corpus.log" >&2
	fi
	if grep -q '^--- FAIL' "$WORK/corpus.log"; then
		AGREE="$AGREE (TestCorpus FAILED)"
	fi
fi

echo
echo "== bounce reader vs Sisimai 4.25: $NMAILS mails ($OCTETS octets), medians of $RUNS, whole processes, one core"
printf '%-37s %9s %9s %9s %11s\n' "" "seconds" "mails/s" "cpu s" "recipients"
printf '%-37s %9s %9s %9s %11s\n' "bouncetime (GOMAXPROCS=1)" "$GO_MED" "$(mps "$GO_MED")" "$GO_CPU" "$GO_RCPT"
printf '%-37s %9s %9s %9s %11s\n' "sisimai.pl --quiet (perl)" "$PL_MED" "$(mps "$PL_MED")" "$PL_CPU" "$PL_RCPT"
if ((CLI)); then
	CLI_MED=$(fmedian "${CLI_T[@]}")
	((GNUTIME)) && CLI_CPU=$(fmedian "${CLI_C[@]}")
	printf '%-37s %9s %9s %9s %11s\n' "hikyaku bounce parse (GOMAXPROCS=1)" "$CLI_MED" "$(mps "$CLI_MED")" "$CLI_CPU" "$(wc -l <"$WORK/cli.out") lines"
fi
echo "ratio (sisimai / reader): ${RATIO}x wall-clock, ${CPU_RATIO}x CPU   (target >= 10x, aim 20x)"
echo "reader alone (inside the process, last run): ${INNER}s; allocations: ${ALLOCS} per mail, ${BYTES} octets per mail"
echo "agreement: $AGREE   (target >= 97%)"
echo "runs: reader ${GO_T[*]} | sisimai ${PL_T[*]}${CLI_T:+ | cli ${CLI_T[*]}}"
