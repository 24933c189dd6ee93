// Command queuefill fills a relay queue directory with ready-to-deliver
// messages for bench/delivery.sh, through the same queue.Store.Add the
// receiver uses, so the delivery benchmark starts from exactly what
// `hikyaku serve` would find after accepting that mail. Not part of hikyaku.
//
//	queuefill -dir DATA/queue -n 20000 -size 1024 -domains 100
//
// Message i goes to u<i>@d<i mod domains>.test (with -domains 0, to
// -to, default u@sink.test). Each message is -size octets of body after a
// few headers, CRLF lines of 76 characters, as smtp-source -l sends.
package main
