package tlsconf

import (
	"crypto/tls"
	"net"
	"testing"
)

// BenchmarkHandshake is the cost of one full handshake with the server's
// configuration, both ends on this machine (what a STARTTLS session adds
// before its first command), by client key-exchange preference: Go's
// default (X25519MLKEM768 first) and classic X25519.
func BenchmarkHandshake(b *testing.B) {
	cert, err := Generate("mx.example.test")
	if err != nil {
		b.Fatal(err)
	}
	conf, _ := Static(cert).ServerConfig()
	for _, tc := range []struct {
		name   string
		curves []tls.CurveID
	}{
		{"default", nil},
		{"x25519", []tls.CurveID{tls.X25519}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cc := &tls.Config{InsecureSkipVerify: true, CurvePreferences: tc.curves}
			for b.Loop() {
				a, c := net.Pipe()
				errc := make(chan error, 1)
				go func() { errc <- tls.Server(a, conf).Handshake() }()
				if err := tls.Client(c, cc).Handshake(); err != nil {
					b.Fatal(err)
				}
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
				a.Close()
				c.Close()
			}
		})
	}
}
