package web

import "time"

// SetClock makes the handler's LoginLimit read the time from now.
func SetClock(h *Handler, now func() time.Time) {
	h.lim.mu.Lock()
	defer h.lim.mu.Unlock()
	h.lim.now = now
}

// RememberedClients is the number of clients the handler's LoginLimit
// keeps state for.
func RememberedClients(h *Handler) int { return h.lim.size() }
