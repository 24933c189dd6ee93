// Package auth owns the server side of SMTP authentication below the
// command layer: the SASL mechanisms (PLAIN, LOGIN, CRAM-MD5,
// SCRAM-SHA-256 and its channel-bound -PLUS form), the secrets each
// mechanism needs stored for a user (and how they are written down), and
// the throttle on failed attempts. It knows nothing of SMTP replies or
// base64 framing (RFC 4954 is the server's job) and nothing of where users
// live: a Store answers its questions.
package auth
