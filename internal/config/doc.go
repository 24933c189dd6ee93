// Package config owns hikyaku's configuration: one TOML file, every key
// with a default and a line of documentation, read strictly. An unknown key,
// a bad value or an unreadable file is an error that names file, line and
// key, and is a *codes.SystemError with the system code of docs/spec.md
// §4.4 (-4, -5, -6, -7).
package config
