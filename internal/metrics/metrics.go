package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every instrument.
type Metrics struct {
	Registry *prometheus.Registry

	SessionsActive   prometheus.Gauge
	SessionsTotal    prometheus.Counter
	SessionsRefused  *prometheus.CounterVec // by reason
	Replies          *prometheus.CounterVec // by code, enhanced code
	MessagesAccepted prometheus.Counter
	MessageBytes     prometheus.Counter
	DotToReply       prometheus.Histogram   // final dot to 250, seconds
	SpoolSync        prometheus.Histogram   // fdatasync latency, seconds
	SpoolSyncRecords prometheus.Histogram   // records per fdatasync (group commit width)
	LocalDeliveries  *prometheus.CounterVec // by result
	MaildirSync      prometheus.Histogram
	RelayQueued      prometheus.Counter
	PanicsRecovered  prometheus.Counter
	DeliveryResults  *prometheus.CounterVec // by result code and destination domain
	DeliveryDuration prometheus.Histogram
	Bounces          *prometheus.CounterVec // bounced recipients read by the intake, by reason, kind and outcome
	BounceMails      *prometheus.CounterVec // bounce mails taken in, by result (read, kept: to be read again)
}

// New builds every instrument on a fresh registry.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	latency := []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
	m := &Metrics{
		Registry:         r,
		SessionsActive:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "hikyaku_smtp_sessions_active", Help: "SMTP sessions open now."}),
		SessionsTotal:    prometheus.NewCounter(prometheus.CounterOpts{Name: "hikyaku_smtp_sessions_total", Help: "SMTP sessions accepted."}),
		SessionsRefused:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_smtp_sessions_refused_total", Help: "SMTP connections refused at connect, by reason."}, []string{"reason"}),
		Replies:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_smtp_replies_total", Help: "SMTP replies sent, by code and enhanced code."}, []string{"code", "enhanced"}),
		MessagesAccepted: prometheus.NewCounter(prometheus.CounterOpts{Name: "hikyaku_messages_accepted_total", Help: "Messages acknowledged with 250 after reaching stable storage."}),
		MessageBytes:     prometheus.NewCounter(prometheus.CounterOpts{Name: "hikyaku_message_bytes_total", Help: "Octets of accepted messages."}),
		DotToReply:       prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hikyaku_smtp_dot_to_reply_seconds", Help: "Time from the end of DATA to the reply.", Buckets: latency}),
		SpoolSync:        prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hikyaku_spool_fsync_seconds", Help: "Spool fdatasync latency.", Buckets: latency}),
		SpoolSyncRecords: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hikyaku_spool_fsync_records", Help: "Messages made durable by one spool fdatasync.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		LocalDeliveries:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_local_deliveries_total", Help: "Local Maildir deliveries, by result.", ConstLabels: nil}, []string{"result"}),
		MaildirSync:      prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hikyaku_maildir_sync_seconds", Help: "Maildir batch sync latency.", Buckets: latency}),
		RelayQueued:      prometheus.NewCounter(prometheus.CounterOpts{Name: "hikyaku_relay_queued_total", Help: "Messages put in the relay queue."}),
		PanicsRecovered:  prometheus.NewCounter(prometheus.CounterOpts{Name: "hikyaku_panics_recovered_total", Help: "Panics recovered in sessions (each is a bug)."}),
		DeliveryResults:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_delivery_results_total", Help: "Outgoing delivery attempts per recipient, by result code and destination domain."}, []string{"code", "domain"}),
		DeliveryDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hikyaku_delivery_attempt_seconds", Help: "Time of one delivery attempt to one domain.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
		Bounces:          prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_bounces_total", Help: "Bounced recipients read from mail to the VERP domain and the complaint addresses, by reason (Sisimai name), kind (bounce, feedback, autoreply, none) and what the status store did (recorded, duplicate, norow, noted)."}, []string{"reason", "kind", "outcome"}),
		BounceMails:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_bounce_mails_total", Help: "Bounce mails the intake handled, by result: read (recorded, every recipient), kept (reading or the store failed; read again later)."}, []string{"result"}),
	}
	r.MustRegister(m.SessionsActive, m.SessionsTotal, m.SessionsRefused, m.Replies, m.MessagesAccepted,
		m.MessageBytes, m.DotToReply, m.SpoolSync, m.SpoolSyncRecords, m.LocalDeliveries, m.MaildirSync,
		m.RelayQueued, m.PanicsRecovered, m.DeliveryResults, m.DeliveryDuration, m.Bounces, m.BounceMails)
	return m
}

// Reply counts one reply sent.
func (m *Metrics) Reply(code int, enhanced string) {
	m.Replies.WithLabelValues(strconv.Itoa(code), enhanced).Inc()
}

// SpoolSynced is the spool's OnSync hook.
func (m *Metrics) SpoolSynced(d time.Duration, records int) {
	m.SpoolSync.Observe(d.Seconds())
	m.SpoolSyncRecords.Observe(float64(records))
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
