package codes

import (
	"strings"
	"testing"
)

func TestDigits(t *testing.T) {
	cases := []struct {
		code   int
		values []string
		third  string // English meaning of the third digit
		why    string
	}{
		{550, []string{"5xx", "x5x", "xx0"}, "finer gradation", "seed 000's table"},
		{421, []string{"4xx", "x2x", "xx1"}, "finer gradation", "x2x is Connections"},
		{620, []string{"6xx", "x2x", "xx0"}, "the opening greeting", "waiting side starts at the greeting"},
		{623, []string{"6xx", "x2x", "xx3"}, "the reply to RCPT TO", "waiting side, 3 is RCPT"},
		{624, []string{"6xx", "x2x", "xx4"}, "the reply to the DATA command", "waiting side, 4 is DATA"},
		{660, []string{"6xx", "x6x", "xx0"}, "sending HELO/EHLO", "sending side starts at HELO"},
		{663, []string{"6xx", "x6x", "xx3"}, "sending the DATA command", "sending side, 3 is the DATA command"},
		{664, []string{"6xx", "x6x", "xx4"}, "sending the message content", "sending side, 4 is the content"},
		{686, []string{"6xx", "x8x", "xx6"}, "sending QUIT", "only the sending side has QUIT"},
		{626, []string{"6xx", "x2x", "xx6"}, "not assigned", "no wait for QUIT's reply"},
		{606, []string{"6xx", "x0x", "xx6"}, "names the condition", "60x is not phase-structured"},
		{720, []string{"7xx", "x2x", "xx0"}, "tells the codes", "DNS group"},
	}
	for _, c := range cases {
		got := Digits(c.code)
		if len(got) != len(c.values) {
			t.Errorf("%d: %d digits, want %d (%s)", c.code, len(got), len(c.values), c.why)
			continue
		}
		for i, v := range c.values {
			if got[i].Value != v || got[i].EN == "" || got[i].JA == "" {
				t.Errorf("%d digit %d = %+v, want value %s (%s)", c.code, i, got[i], v, c.why)
			}
		}
		if !strings.HasPrefix(got[2].EN, c.third) {
			t.Errorf("%d third digit = %q, want %q… (%s)", c.code, got[2].EN, c.third, c.why)
		}
	}
	for _, n := range []int{0, 99, 900, 1000, -5} {
		if d := Digits(n); d != nil {
			t.Errorf("Digits(%d) = %v, want nil", n, d)
		}
	}
}

func TestConnectionResult(t *testing.T) {
	cases := []struct {
		p                Phase
		timeout, sending bool
		want             int
		why              string
	}{
		{PhaseGreeting, false, false, 620, "lost before the greeting"},
		{PhaseRcpt, false, false, 623, "lost waiting for the RCPT reply"},
		{PhaseRcpt, true, false, 643, "timeout waiting for the RCPT reply"},
		{PhaseRcpt, false, true, 662, "lost sending RCPT: sending side numbers differ"},
		{PhaseRcpt, true, true, 682, "timeout sending RCPT"},
		{PhaseData, false, true, 663, "the DATA command"},
		{PhaseContent, false, true, 664, "the content"},
		{PhaseDot, false, false, 625, "waiting for the reply to the final dot"},
		{PhaseDot, true, true, 685, "timeout sending the final dot"},
		{PhaseQuit, false, true, 666, "lost sending QUIT"},
		{PhaseQuit, false, false, 602, "no 62x for QUIT: falls back"},
		{PhaseGreeting, true, true, 610, "nothing is sent for the greeting: falls back"},
		{PhaseContent, true, false, 610, "no reply to the content alone: falls back"},
		{PhaseOther, false, false, 602, "TLS handshake and the like"},
		{PhaseOther, true, true, 610, "TLS handshake and the like"},
		{PhaseHelo, false, true, 660, "HELO is 0 on the sending side"},
		{PhaseRset, true, false, 647, "RSET is 7 on both sides"},
	}
	for _, c := range cases {
		if got := ConnectionResult(c.p, c.timeout, c.sending); got != c.want {
			t.Errorf("ConnectionResult(%d, %v, %v) = %d, want %d (%s)", c.p, c.timeout, c.sending, got, c.want, c.why)
		}
	}
}

// TestPhaseCodesMatchTable ties three things together: ConnectionResult,
// the table's texts, and the digit meanings. Every code ConnectionResult
// can return is in the table, its English says the same thing as the
// arguments, and every 62x-68x table entry is reachable.
func TestPhaseCodesMatchTable(t *testing.T) {
	reached := map[int]bool{}
	for p := PhaseOther; p <= PhaseRset; p++ {
		for _, timeout := range []bool{false, true} {
			for _, sending := range []bool{false, true} {
				n := ConnectionResult(p, timeout, sending)
				reached[n] = true
				c, ok := LookupCode(n)
				if !ok {
					t.Fatalf("ConnectionResult gives %d, not in the table", n)
				}
				if n == 602 || n == 610 {
					continue
				}
				en := strings.ToLower(c.EN)
				if strings.Contains(en, "timeout") != timeout || strings.Contains(en, "sending") != sending {
					t.Errorf("%d %q does not say timeout=%v sending=%v", n, c.EN, timeout, sending)
				}
				third := strings.ToLower(Digits(n)[2].EN)
				if !strings.HasSuffix(en, strings.TrimPrefix(strings.TrimPrefix(third, "the reply to "), "sending ")) {
					t.Errorf("%d: text %q and third-digit meaning %q disagree", n, c.EN, third)
				}
			}
		}
	}
	for _, c := range Codes() {
		if c.Code >= 620 && c.Code < 690 && !reached[c.Code] {
			t.Errorf("%d is in the table but no phase produces it", c.Code)
		}
	}
}
