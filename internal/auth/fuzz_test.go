package auth

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzExchange feeds arbitrary responses to every mechanism and arbitrary
// strings to the secret parsers: nothing may panic, an exchange ends in
// done or one of the package's errors, and done only with the right
// password.
func FuzzExchange(f *testing.F) {
	store := newMemStore(f, map[string]string{"alice@example.test": "s3cret"})
	srv := NewServer(store, "mx.example.test")
	mechs := []string{Plain, Login, CRAMMD5, SCRAMSHA256}
	f.Add(uint8(0), []byte("\x00alice@example.test\x00s3cret"))
	f.Add(uint8(1), []byte("alice@example.test\nwrong"))
	f.Add(uint8(2), []byte("\nalice@example.test 0123456789abcdef0123456789abcdef"))
	f.Add(uint8(3), []byte("n,,n=alice@example.test,r=abc\nc=biws,r=abc,p=AAAA\n"))
	f.Add(uint8(3), []byte("y,a=x,n=a=2Cb,r=\x00\nc=,r=,p=\n"))
	f.Fuzz(func(t *testing.T, m uint8, data []byte) {
		ParseSCRAMKeys(string(data))
		ParseCRAMKeys(string(data))
		ex, err := srv.Start(mechs[int(m)%len(mechs)], nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, resp := range bytes.Split(data, []byte("\n")) {
			if i == 0 && len(resp) == 0 {
				resp = nil // no initial response
			}
			_, done, err := ex.Next(resp)
			if err != nil {
				if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrInitialResponse) {
					t.Fatalf("error outside the package's kinds: %v", err)
				}
				return
			}
			if done {
				if !bytes.Contains(data, []byte("s3cret")) {
					t.Fatalf("authenticated without the password: %q", data)
				}
				return
			}
		}
	})
}
