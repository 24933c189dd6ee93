// Package mimepart reads the parts of a multipart MIME body as they are
// written: each part's header and its still-encoded body, for the readers
// that decode parts their own way (a campaign's template, a DSN).
package mimepart
