package codes

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// sisimaiReasons are the reason names Sisimai uses; a Reason outside this
// set would not match what bounce tools print.
var sisimaiReasons = map[string]bool{
	"authfailure": true, "badreputation": true, "blocked": true, "contenterror": true,
	"delivered": true, "emailtoolarge": true, "exceedlimit": true, "expired": true,
	"failedstarttls": true, "feedback": true, "filtered": true, "hasmoved": true,
	"hostunknown": true, "mailboxfull": true, "mailererror": true, "mesgtoobig": true,
	"networkerror": true, "norelaying": true, "notaccept": true, "notcompliantrfc": true,
	"onhold": true, "policyviolation": true, "ratelimited": true, "rejected": true,
	"requireptr": true, "securityerror": true, "spamdetected": true, "speeding": true,
	"suppressed": true, "suspend": true, "syntaxerror": true, "systemerror": true,
	"systemfull": true, "toomanyconn": true, "undefined": true, "userunknown": true,
	"vacation": true, "virusdetected": true,
}

type specResult struct {
	code   int
	class  Class
	weight Tenths
	status string
	blame  Blame
}

// specResults is docs/spec.md §4.2-4.4 written out: every result code hikyaku makes,
// with the class, weight (tenths), DSN status and seed 001 blame docs/spec.md gives.
func specResults() []specResult {
	rs := []specResult{
		{601, ClassTransient, 0, "4.4.1", BlameSystem},
		{602, ClassTransient, 0, "4.4.2", BlameSystem},
		{606, ClassPermanent, 1, "4.4.7", BlameSystem},
		{608, ClassTransient, 0, "4.4.3", BlameSystem},
		{609, ClassTransient, 0, "4.3.0", BlameSystem},
		{610, ClassTransient, 0, "4.4.2", BlameSystem},
		{611, ClassPermanent, 0, "5.1.3", BlameUser},
		{700, ClassPermanent, 10, "5.1.2", BlameUser},
		{710, ClassPermanent, 10, "5.4.4", BlameUser},
		{711, ClassPermanent, 10, "5.4.4", BlameUser},
		{720, ClassTransient, 10, "4.4.3", BlameUser},
		{730, ClassPermanent, 10, "5.4.6", BlameUser},
		{800, ClassPermanent, 0, "5.1.3", BlameSystem},
		{801, ClassPermanent, 5, "5.2.1", BlameUser},
		{850, ClassPermanent, 5, "5.7.1", BlameUser},
	}
	phases := []int{620, 621, 622, 623, 624, 625, 627, 640, 641, 642, 643, 644, 645, 647,
		660, 661, 662, 663, 664, 665, 666, 667, 680, 681, 682, 683, 684, 685, 686, 687}
	for _, c := range phases {
		rs = append(rs, specResult{c, ClassTransient, 0, "4.4.2", BlameSystem})
	}
	// Chosen in seed 001's scheme for what it has no code for (issue 12,
	// docs/bounce.md): complaint, sender refused, sender rate-limited.
	rs = append(rs, specResult{860, ClassPermanent, 10, "5.7.1", BlameUser},
		specResult{870, ClassPermanent, 0, "5.7.1", BlameSystem},
		specResult{871, ClassTransient, 0, "4.7.0", BlameSystem})
	for _, c := range []int{-3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -100, -101, -102, -500, -501, -502} {
		rs = append(rs, specResult{c, ClassSystem, 0, "", BlameSystem})
	}
	return rs
}

func TestSpecResultCodes(t *testing.T) {
	want := map[int]bool{}
	for _, w := range specResults() {
		want[w.code] = true
		t.Run(strconv.Itoa(w.code), func(t *testing.T) {
			c, ok := LookupCode(w.code)
			if !ok {
				t.Fatalf("docs/spec.md §4 lists %d; the table does not", w.code)
			}
			if c.Class != w.class || c.Weight != w.weight || c.Status != w.status || c.Blame != w.blame {
				t.Errorf("got class %v weight %v status %q blame %v; docs/spec.md says %v %v %q %v",
					c.Class, c.Weight, c.Status, c.Blame, w.class, w.weight, w.status, w.blame)
			}
		})
	}
	// The other way round: no result code docs/spec.md does not define.
	for _, c := range Codes() {
		if (c.Code >= 600 || c.Code < 0) && !want[c.Code] {
			t.Errorf("result code %d is in the table but not in docs/spec.md §4", c.Code)
		}
	}
}

func TestReplyCodes(t *testing.T) {
	// RFC 5321 §4.2.3 plus the later RFCs' codes the brief asks for.
	required := []int{211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452,
		454, 455, 500, 501, 502, 503, 504, 521, 530, 534, 535, 538, 550, 551, 552, 553, 554, 555, 556}
	for _, n := range required {
		if _, ok := LookupCode(n); !ok {
			t.Errorf("reply code %d missing", n)
		}
	}
	// docs/spec.md §4.1 weights and seed 001 blame.
	weights := []struct {
		code   int
		weight Tenths
		blame  Blame
	}{
		{501, 10, BlameUser}, {550, 10, BlameUser}, {551, 10, BlameUser}, {552, 1, BlameUser},
		{553, 10, BlameUser}, {554, 10, BlameUser},
		{500, 0, BlameSystem}, {502, 0, BlameSystem}, {503, 0, BlameSystem}, {504, 0, BlameSystem},
	}
	for _, w := range weights {
		c, _ := LookupCode(w.code)
		if c.Weight != w.weight || c.Blame != w.blame {
			t.Errorf("%d: weight %v blame %v, docs/spec.md §4.1 says %v %v", w.code, c.Weight, c.Blame, w.weight, w.blame)
		}
	}
	for _, c := range Codes() {
		if c.Code < 100 || c.Code > 599 {
			continue
		}
		if want := firstDigitClass[strconv.Itoa(c.Code)[0]]; c.Class != want {
			t.Errorf("%d: class %v, its first digit says %v", c.Code, c.Class, want)
		}
		if c.Class == ClassTransient && c.Weight != 0 {
			t.Errorf("%d: a transient reply weighs %v; docs/spec.md §4.1 counts 4xx 0", c.Code, c.Weight)
		}
		if c.Status != "" {
			t.Errorf("%d: Status is for codes hikyaku makes itself, not remote replies", c.Code)
		}
	}
	if Weight(599) != 0 || Weight(550) != 10 {
		t.Errorf("Weight: unlisted code must weigh 0, 550 must weigh 1")
	}
}

// TestReplies checks the receiver's situations against the tables: every
// reply code and enhanced code must be one `explain` can explain.
func TestReplies(t *testing.T) {
	bare := map[string]bool{"greeting": true, "helo_ok": true, "ehlo_ok": true}
	for _, r := range Replies() {
		t.Run(r.Name, func(t *testing.T) {
			if _, ok := LookupCode(r.Code); !ok {
				t.Errorf("code %d is not in the basic table", r.Code)
			}
			if r.EN == "" || r.JA == "" {
				t.Errorf("needs EN and JA text")
			}
			intermediate := r.Code >= 300 && r.Code < 400
			if r.Enhanced == "" {
				// docs/spec.md §2: only the greeting and HELO/EHLO go without;
				// RFC 2034 puts none on 3xx.
				if !bare[r.Name] && !intermediate {
					t.Errorf("needs an enhanced code (docs/spec.md §2)")
				}
				return
			}
			if intermediate {
				t.Errorf("a 3xx reply carries no enhanced code (RFC 2034)")
			}
			if _, ok := LookupEnhanced(r.Enhanced); !ok {
				t.Errorf("enhanced %s is not in the registry table", r.Enhanced)
			}
			if r.Enhanced[0] != strconv.Itoa(r.Code)[0] {
				t.Errorf("enhanced class %c does not match code %d (RFC 2034)", r.Enhanced[0], r.Code)
			}
			if got, ok := ReplyByName(r.Name); !ok || got != r {
				t.Errorf("ReplyByName(%q) does not return it", r.Name)
			}
		})
	}
}

func TestEveryEntryIsComplete(t *testing.T) {
	if ix := index(); len(ix.code) != len(allCodes()) || len(ix.enhanced) != len(allEnhanced) {
		t.Fatalf("index sizes differ from tables: duplicates slipped past init")
	}
	for _, c := range Codes() {
		name := strconv.Itoa(c.Code)
		if c.EN == "" || c.JA == "" || c.Ref == "" {
			t.Errorf("%s: EN, JA and Ref must be set", name)
		}
		if (c.DetailEN == "") != (c.DetailJA == "") {
			t.Errorf("%s: detail in one language only", name)
		}
		if c.Class == ClassUnknown {
			t.Errorf("%s: no class", name)
		}
		if c.Reason != "" && !sisimaiReasons[c.Reason] {
			t.Errorf("%s: %q is not a Sisimai reason", name, c.Reason)
		}
		if c.Status == "" {
			continue
		}
		if _, ok := LookupEnhanced(c.Status); !ok {
			t.Errorf("%s: DSN status %s is not registered", name, c.Status)
		}
		want := map[Class]byte{ClassTransient: '4', ClassPermanent: '5'}[c.Class]
		// 606 is final, yet docs/spec.md gives it 4.4.7: an expired message fails
		// with the persistent-transient status (RFC 3463 X.4.7).
		if c.Code != 606 && c.Status[0] != want {
			t.Errorf("%s: status %s does not fit class %v", name, c.Status, c.Class)
		}
	}
	for _, e := range Enhanceds() {
		parts := strings.Split(e.Status, ".")
		if len(parts) != 3 || parts[0] != "X" {
			t.Errorf("%s: not in X.s.d form", e.Status)
		}
		if e.EN == "" || e.JA == "" || e.Ref == "" {
			t.Errorf("%s: EN, JA and Ref must be set", e.Status)
		}
		if e.Reason != "" && !sisimaiReasons[e.Reason] {
			t.Errorf("%s: %q is not a Sisimai reason", e.Status, e.Reason)
		}
		if _, ok := EnhancedSubject(parts[1]); !ok {
			t.Errorf("%s: subject %s undefined", e.Status, parts[1])
		}
	}
}

func TestRegistryIsComplete(t *testing.T) {
	// The detail counts per subject of the IANA registry through X.7.30.
	last := map[string]int{"0": 0, "1": 10, "2": 4, "3": 6, "4": 7, "5": 6, "6": 10, "7": 30}
	for s, n := range last {
		for d := 0; d <= n; d++ {
			st := "X." + s + "." + strconv.Itoa(d)
			if _, ok := LookupEnhanced(st); !ok {
				t.Errorf("%s missing from the registry table", st)
			}
		}
		if _, ok := LookupEnhanced("X." + s + "." + strconv.Itoa(n+1)); ok {
			t.Errorf("X.%s.%d is in the table but was never registered", s, n+1)
		}
	}
	if e, ok := LookupEnhanced("5.1.10"); !ok || e.Status != "X.1.10" {
		t.Errorf("LookupEnhanced must fall back to the X form")
	}
	for _, c := range []string{"2", "4", "5"} {
		if _, ok := EnhancedClass(c); !ok {
			t.Errorf("class %s has no meaning", c)
		}
	}
}

func TestTenths(t *testing.T) {
	cases := []struct {
		t    Tenths
		want string
	}{
		{0, "0"}, {1, "0.1"}, {5, "0.5"}, {10, "1"}, {15, "1.5"}, {100, "10"}, {-5, "-0.5"}, {-15, "-1.5"}, {-10, "-1"},
	}
	for _, c := range cases {
		if got := c.t.String(); got != c.want {
			t.Errorf("Tenths(%d) = %q, want %q", int(c.t), got, c.want)
		}
	}
	// The reason Tenths exists: ten 0.1 weights are exactly 1.0.
	var sum Tenths
	w := Weight(552)
	for range 10 {
		sum += w
	}
	if sum != Weight(550) || sum.String() != "1" {
		t.Errorf("ten 552 weights sum to %v, want exactly 1", sum)
	}
}

func TestParseTenths(t *testing.T) {
	good := map[string]Tenths{"1": 10, "0.1": 1, "0.50": 5, "-0.5": -5, ".5": 5, "+1": 10, "1.0": 10, "0": 0, "12.3": 123}
	for in, want := range good {
		got, err := ParseTenths(in)
		if err != nil || got != want {
			t.Errorf("ParseTenths(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// 0.15 cannot be kept in tenths; the rest are not decimals.
	for _, in := range []string{"", "-", ".", "1.", "0.15", "abc", "1e3", "1..0", "1,5", "--1", " 1", "99999999999"} {
		if v, err := ParseTenths(in); err == nil {
			t.Errorf("ParseTenths(%q) = %v, want an error", in, v)
		}
	}
}

func TestJSONForms(t *testing.T) {
	b, err := json.Marshal(struct {
		W Tenths
		C Class
		B Blame
	}{1, ClassPermanent, BlameUser})
	if err != nil || string(b) != `{"W":0.1,"C":"permanent","B":"user"}` {
		t.Fatalf("got %s, %v", b, err)
	}
	var back struct {
		W Tenths
		C Class
		B Blame
	}
	if err := json.Unmarshal([]byte(`{"W":"0.5","C":"transient","B":"system"}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.W != 5 || back.C != ClassTransient || back.B != BlameSystem {
		t.Errorf("unmarshal gave %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"C":"nonsense"}`), &back); err == nil {
		t.Errorf("an unknown class name must be an error")
	}
}

// issue 13: `campaign report --lang ja` showed "DNS Error 1" for 700. Every
// code of the table says what it means in Japanese: Japanese text, not the
// English short name, not the seed's English placeholder.
func TestJapaneseExplanations(t *testing.T) {
	for _, c := range Codes() {
		if !hasJapanese(c.JA) || c.JA == c.EN || (c.Seed != "" && c.JA == c.Seed) {
			t.Errorf("%d: Japanese short meaning %q (English %q, seed %q)", c.Code, c.JA, c.EN, c.Seed)
		}
		if c.Seed != "" && hasJapanese(c.Seed) {
			t.Errorf("%d: the seed's text %q is Japanese, so it is the JA text, not a placeholder", c.Code, c.Seed)
		}
		if c.DetailJA != "" && (!hasJapanese(c.DetailJA) || c.DetailJA == c.DetailEN) {
			t.Errorf("%d: Japanese detail %q", c.Code, c.DetailJA)
		}
		if d, err := Describe(strconv.Itoa(c.Code)); err != nil || d.JA != c.JA || !strings.Contains(d.Text("ja"), c.JA) {
			t.Errorf("%d: explain --lang ja does not show %q: %v", c.Code, c.JA, err)
		}
	}
	for _, e := range Enhanceds() {
		if !hasJapanese(e.JA) || e.JA == e.EN {
			t.Errorf("%s: Japanese meaning %q", e.Status, e.JA)
		}
	}
	for _, r := range Replies() {
		if !hasJapanese(r.JA) || r.JA == r.EN {
			t.Errorf("reply %s: Japanese text %q", r.Name, r.JA)
		}
	}
}

// TestRepliesListed: the checks above, ReplyByName and `explain` see the
// replies through allReplies; a Reply variable of replies.go left out of
// it would be written by the server without any of them. Every one is
// listed, by its name as written in the literal.
func TestRepliesListed(t *testing.T) {
	listed := map[string]bool{}
	for _, r := range Replies() {
		listed[r.Name] = true
	}
	declared := declaredLiterals(t, "replies.go", "Reply")
	for name, n := range declared {
		if !listed[n] {
			t.Errorf("%s (%q) is not in allReplies", name, n)
		}
	}
	if len(declared) == 0 || len(declared) != len(Replies()) {
		t.Errorf("%d Reply variables declared, %d in allReplies", len(declared), len(Replies()))
	}
}
