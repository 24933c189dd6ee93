package rules

import (
	"testing"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

func reply(code int, enhanced, text string, p codes.Phase) outcome.Result {
	return outcome.Result{Code: code, Enhanced: enhanced, Text: text, Phase: p,
		Command: "RCPT TO:<x@example.jp>", Host: "mx.example.net", IP: "192.0.2.7", Reason: "userunknown"}
}

// defaultCase is one remote reply run through the built-in rules. want is
// 801, 850, or 0 for "stays what it was".
type defaultCase struct {
	name, why string
	domain    string
	r         outcome.Result
	want      int
}

var defaultCases = []defaultCase{
	// 801 at the large providers.
	{"gmail disabled", "Google's DisabledUser reply, two lines", "gmail.com",
		reply(550, "5.2.1", "The email account that you tried to reach is disabled. Learn more at\nhttps://support.google.com/mail/?p=DisabledUser d2-20020a05", codes.PhaseRcpt), 801},
	{"workspace inactive", "a Google Workspace domain answers like Gmail", "example.co.jp",
		reply(550, "5.2.1", "The email account that you tried to reach is inactive. For more information, go to\nhttps://support.google.com/mail/?p=DisabledUser", codes.PhaseRcpt), 801},
	{"yahoo mailbox disabled", "Yahoo's 554 30, no enhanced code", "yahoo.com",
		reply(554, "", "30 Sorry, your message to taro@yahoo.com cannot be delivered. This mailbox is disabled (554.30).", codes.PhaseRcpt), 801},
	{"aol disabled or discontinued", "the older Yahoo/AOL wording", "aol.com",
		reply(554, "", "delivery error: dd Sorry your message to taro@aol.com cannot be delivered. This account has been disabled or discontinued [#102]. - mta1012.mail.bf1.yahoo.com", codes.PhaseDot), 801},
	{"yahoo no longer valid", "Sisimai files it as suspend", "yahoo.com",
		reply(554, "", "delivery error: dd taro@yahoo.com is no longer valid. [230] - mta4490.mail.gq1.yahoo.com", codes.PhaseDot), 801},
	{"microsoft banned recipient", "Exchange Online 5.7.505", "contoso.com",
		reply(550, "5.7.505", "Access denied, banned recipient [BN8NAM11FT012.eop-nam11.prod.protection.outlook.com]", codes.PhaseRcpt), 801},
	{"icloud inactive", "deactivated iCloud address", "icloud.com",
		reply(550, "5.1.1", "<hanako@icloud.com>: inactive email address", codes.PhaseRcpt), 801},
	{"rfc 3463 mailbox disabled", "X.2.1's own wording", "example.org",
		reply(550, "5.2.1", "Mailbox disabled, not accepting messages", codes.PhaseRcpt), 801},
	{"qq deactivated", "QQ mail's wording", "qq.com",
		reply(550, "", "Mailbox unavailable or access denied: taro@qq.com is a deactivated mailbox", codes.PhaseRcpt), 801},
	{"account deactivated", "generic account wording", "example.net",
		reply(554, "5.2.1", "user account is deactivated", codes.PhaseRcpt), 801},
	{"account temporarily suspended", "generic, from Sisimai's suspend list", "example.net",
		reply(550, "", "This account has been temporarily suspended", codes.PhaseRcpt), 801},
	{"user suspended", "163.com's wording", "163.com",
		reply(550, "", "User suspended: taro@163.com", codes.PhaseRcpt), 801},
	{"vdelivermail locked", "vpopmail's locked account", "example.net",
		reply(550, "", "vdelivermail: account is locked email bounced", codes.PhaseDot), 801},

	// 850 at the Japanese carriers.
	{"docomo filter at end of data", "accepted at RCPT, refused after the content", "docomo.ne.jp",
		reply(550, "", "Unknown user taro@docomo.ne.jp", codes.PhaseDot), 850},
	{"docomo filter at DATA", "the same reply seen after the DATA command", "docomo.ne.jp",
		reply(550, "", "Unknown user taro@docomo.ne.jp", codes.PhaseData), 850},
	{"au without address", "KDDI's refusal form", "ezweb.ne.jp",
		reply(550, "", ": User unknown", codes.PhaseRcpt), 850},
	{"au.com without address", "the newer au domain", "au.com",
		reply(550, "", ": User unknown", codes.PhaseRcpt), 850},
	{"ezweb subdomain", "biz.ezweb.ne.jp is covered by ezweb.ne.jp", "biz.ezweb.ne.jp",
		reply(550, "", ": User unknown", codes.PhaseRcpt), 850},
	{"japanese refusal text", "受信拒否 in a UTF-8 reply", "example.jp",
		reply(550, "5.7.1", "受信者の受信拒否設定によりお届けできませんでした", codes.PhaseRcpt), 850},

	// 850 elsewhere.
	{"recipient preferences", "Facebook's wording", "facebook.com",
		reply(550, "5.7.1", "refused due to recipient preferences", codes.PhaseRcpt), 850},
	{"willcom refuse", "Willcom's wording", "pdx.ne.jp",
		reply(550, "", "Recipient ID refuse to receive mail", codes.PhaseRcpt), 850},
	{"exchange allowed senders", "the recipient takes mail from listed senders only", "contoso.com",
		reply(550, "5.7.1", "Delivery not authorized, message refused because the sender isn't on the recipient's list of senders to accept mail from", codes.PhaseRcpt), 850},
	{"workspace policy", "a policy of the recipient's Workspace admin", "example.com",
		reply(550, "5.7.1", "The user or domain that you are sending to (or from) has a policy that\nprohibited the mail that you sent. Please contact your domain administrator\nfor further details.", codes.PhaseDot), 850},
	{"generic domain rejected by settings", "the wording the issue names", "example.net",
		reply(550, "5.7.1", "Domain example.com rejected by recipient's settings", codes.PhaseRcpt), 850},
	{"generic reception settings", "a refusal naming reception settings", "example.net",
		reply(554, "", "Mail refused by the recipient's reception settings", codes.PhaseDot), 850},
	{"generic user block list", "a user-level block list, not an IP list", "example.net",
		reply(550, "5.7.1", "Sender blocked: domain is on the user's block list", codes.PhaseRcpt), 850},

	// What stays as it was.
	{"gmail unknown", "no such user stays 550 (weight 1.0)", "gmail.com",
		reply(550, "5.1.1", "The email account that you tried to reach does not exist. Please try\ndouble-checking the recipient's email address for typos or\nunnecessary spaces.", codes.PhaseRcpt), 0},
	{"outlook unknown", "Outlook.com's closed or unknown account", "hotmail.com",
		reply(550, "5.5.0", "Requested action not taken: mailbox unavailable (S2017062302). [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]", codes.PhaseRcpt), 0},
	{"yahoo unknown", "Yahoo's unknown user", "yahoo.com",
		reply(554, "", "delivery error: dd This user doesn't have a yahoo.com account (taro@yahoo.com) [0] - mta1001.mail.ne1.yahoo.com", codes.PhaseDot), 0},
	{"softbank unknown", "SoftBank's unknown user", "i.softbank.jp",
		reply(550, "", "Invalid recipient: <taro@i.softbank.jp>", codes.PhaseRcpt), 0},
	{"au with address", "the form with an address is an unknown user", "ezweb.ne.jp",
		reply(550, "", "<taro@ezweb.ne.jp>: User unknown", codes.PhaseRcpt), 0},
	{"docomo at rcpt", "refused at RCPT: the address does not exist", "docomo.ne.jp",
		reply(550, "", "Unknown user taro@docomo.ne.jp", codes.PhaseRcpt), 0},
	{"docomo text elsewhere", "the docomo rule is for docomo only", "example.jp",
		reply(550, "", "Unknown user taro@example.jp", codes.PhaseDot), 0},
	{"postfix unknown", "Postfix's virtual table", "example.jp",
		reply(550, "5.1.1", "<taro@example.jp>: Recipient address rejected: User unknown in virtual mailbox table", codes.PhaseRcpt), 0},
	{"spamhaus", "an IP blocklist is not the recipient's refusal", "example.jp",
		reply(554, "5.7.1", "Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1", codes.PhaseRcpt), 0},
	{"apple spamhaus", "iCloud's blocklist reply", "icloud.com",
		reply(550, "5.7.1", "Mail from IP 192.0.2.1 was rejected due to listing in Spamhaus SBL. For details please see http://www.spamhaus.org/query/bl?ip=192.0.2.1", codes.PhaseRcpt), 0},
	{"microsoft banned ip", "5.7.606 bans our IP, not the recipient", "contoso.com",
		reply(550, "5.7.606", "Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit https://sender.office.com/", codes.PhaseRcpt), 0},
	{"microsoft customer block list", "the recipient domain blocked our IP", "contoso.com",
		reply(550, "5.7.513", "Service unavailable, Client host [192.0.2.1] blocked by contoso.com using Customer Block list (AS16012607)", codes.PhaseRcpt), 0},
	{"microsoft rejected by recipient", "5.7.507 is an IP block by the recipient's organisation", "contoso.com",
		reply(550, "5.7.507", "Access denied, rejected by recipient", codes.PhaseRcpt), 0},
	{"recipient spam filter", "content filtering is not a domain refusal", "example.net",
		reply(550, "5.7.1", "Message rejected by the recipient's spam filter settings", codes.PhaseDot), 0},
	{"yahoo deferred", "a 4xx about our volume", "yahoo.com",
		reply(421, "4.7.0", "[TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes", codes.PhaseMail), 0},
	{"disabled but 4xx", "a 4xx is transient: the built-in rules name no 4xx", "example.org",
		reply(450, "4.2.1", "Mailbox disabled, not accepting messages", codes.PhaseRcpt), 0},
	{"gmail full and inactive", "552 5.2.2 is a full mailbox (0.1)", "gmail.com",
		reply(552, "5.2.2", "The recipient's inbox is out of storage space and inactive. Please direct the recipient to\nhttps://support.google.com/mail/?p=OverQuotaPerm", codes.PhaseDot), 0},
	{"gmail over quota", "a full mailbox, 4xx", "gmail.com",
		reply(452, "4.2.2", "The email account that you tried to reach is over quota.", codes.PhaseRcpt), 0},
	{"sender account disabled", "about our account, not the recipient's", "example.net",
		reply(550, "5.7.1", "Sender account disabled", codes.PhaseMail), 0},
	{"auth account disabled", "an AUTH failure names our account", "example.net",
		reply(535, "5.7.8", "Authentication failed: account disabled", codes.PhaseOther), 0},
	{"own code", "hikyaku's own codes are never reclassified", "example.net",
		reply(623, "4.4.2", "mailbox disabled", codes.PhaseRcpt), 0},
	{"delivered", "a 2xx is never reclassified", "example.net",
		reply(250, "2.0.0", "OK account disabled", codes.PhaseDot), 0},
}

func TestDefaultClassify(t *testing.T) {
	rs := Default()
	for _, tc := range defaultCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := rs.Classify(tc.domain, tc.r)
			if tc.want == 0 {
				if ok || got != tc.r {
					ru, _ := rs.Match(tc.domain, tc.r)
					t.Fatalf("%s: got %v by line %d (%s), want it unchanged", tc.why, got, ru.Line, ru)
				}
				return
			}
			if !ok || got.Code != tc.want {
				t.Fatalf("%s: got %v (matched %v), want %d", tc.why, got, ok, tc.want)
			}
			c, _ := codes.LookupCode(tc.want)
			wantEnh := tc.r.Enhanced
			if wantEnh == "" || wantEnh[0] != '5' {
				wantEnh = c.Status
			}
			if got.Enhanced != wantEnh || got.Reason != c.Reason {
				t.Errorf("enhanced %q reason %q, want %q %q", got.Enhanced, got.Reason, wantEnh, c.Reason)
			}
			if got.Text != tc.r.Text || got.Command != tc.r.Command || got.Phase != tc.r.Phase || got.Host != tc.r.Host || got.IP != tc.r.IP {
				t.Errorf("the remote's reply was not kept: %+v from %+v", got, tc.r)
			}
		})
	}
}

// TestDefaultEveryRuleUsed makes sure each built-in rule is exercised by
// a case above, so a rule with no realistic text behind it stands out.
func TestDefaultEveryRuleUsed(t *testing.T) {
	rs := Default()
	used := map[int]bool{}
	for _, tc := range defaultCases {
		if ru, ok := rs.Match(tc.domain, tc.r); ok {
			used[ru.Line] = true
		}
	}
	for _, ru := range rs.Rules() {
		if !used[ru.Line] {
			t.Errorf("default.txt:%d has no case: %s", ru.Line, ru)
		}
	}
}

func TestDefaultParses(t *testing.T) {
	rs := Default()
	if rs.Len() < 15 {
		t.Fatalf("%d built-in rules; default.txt lost some", rs.Len())
	}
	if rs.Name() != DefaultName {
		t.Errorf("name %q", rs.Name())
	}
	again, err := Parse(stringsReader(rs.String()), "written")
	if err != nil {
		t.Fatalf("written defaults do not parse: %v\n%s", err, rs)
	}
	if !sameRules(rs.Rules(), again.Rules()) {
		t.Errorf("written defaults parse differently:\n%s\n%s", rs, again)
	}
	for _, ru := range rs.Rules() {
		if _, ok := codes.LookupCode(ru.Result); !ok {
			t.Errorf("line %d: %d is not in the codes table", ru.Line, ru.Result)
		}
	}
}
