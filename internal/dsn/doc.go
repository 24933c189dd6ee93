// Package dsn owns delivery status notifications: building the bounce a
// sender gets when relayed mail fails, is delayed, or (when asked) is
// delivered — an RFC 3464 multipart/report, in the RFC 6533 global form
// for internationalized mail — deciding from the RFC 3461 NOTIFY
// parameter whether one is sent at all, and reading the machine part of
// such a report back (ParseDeliveryStatus).
//
// Every result code and its explanation in a report comes from
// internal/codes; this package only writes the prose around them.
package dsn
