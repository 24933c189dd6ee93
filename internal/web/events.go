package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// eventEvery is how often a live page gets new numbers; maxStream bounds
// one stream, after which the browser's EventSource reconnects by itself
// (so a forgotten tab does not hold a goroutine forever, and a logout
// takes effect).
var (
	eventEvery = 2 * time.Second
	maxStream  = 10 * time.Minute
)

// stream sends what next gives as server-sent events named name, one at
// once and then every eventEvery, until the client goes or maxStream.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, name string, next func() (any, error)) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	t := time.NewTicker(eventEvery)
	defer t.Stop()
	end := time.After(maxStream)
	for {
		v, err := next()
		if err != nil {
			st, msg := statusOf(err)
			v = map[string]any{"error": msg, "status": st}
		}
		b, _ := json.Marshal(v)
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-h.stop:
			return
		case <-end:
			return
		case <-t.C:
		}
	}
}

// events streams the overview.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	h.stream(w, r, "overview", func() (any, error) { return h.overview(r) })
}

// campaignEvents streams one campaign's Live numbers.
func (h *Handler) campaignEvents(w http.ResponseWriter, r *http.Request) {
	s, c, err := h.campaignID(r)
	if err != nil {
		st, msg := statusOf(err)
		writeJSON(w, st, apiError{msg})
		return
	}
	h.stream(w, r, "live", func() (any, error) { return h.live(r.Context(), s, c, 0) })
}
