// Package verp makes and reads the VERP return paths of campaign mail:
// bounce+CAMPAIGN-ROW-HASH@domain, where HASH is a short keyed hash of the
// campaign and row, so that a bounce naming a row we never sent, or a
// forged one, can be refused at RCPT (issue 12). The key lives in
// data_dir/verp.key or the file bounce.verp_secret_file names (key.go).
package verp
