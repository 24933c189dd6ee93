// Package maillog owns the mail log: one line per mail event (accepted,
// rejected, queued for relay, a delivery attempt, delivered, failed, a
// bounce read), kept apart from the debug log so that an administrator
// can grep what happened to a message by its queue id without wading
// through session chatter (chasquid's maillog habit,
// docs/conventions.md habit 12).
package maillog
