package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"keyedcache.dev/keyedcache"
)

// The JSON endpoints serve the same data as the page, for scripts and
// monitoring: GET /api/stats, /api/keys, /api/key; POST /api/delete,
// /api/clear. Errors are {"error": "..."} with a fitting status.

func (h *Handler) timeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, h.opts.Timeout)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		data, _ = json.Marshal(map[string]string{"error": "cannot encode the reply: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// sprintValue shows a value JSON cannot encode (a by-reference Go value
// with a channel in it, say) in Go syntax.
func sprintValue(v any) string { return fmt.Sprintf("%#v", v) }

// statsReply is GET /api/stats.
type statsReply struct {
	Aliases  []aliasInfo    `json:"aliases"`
	Sections map[string]any `json:"sections,omitempty"`
}

func (h *Handler) apiStats(w http.ResponseWriter, r *http.Request) {
	infos, snap := h.infos(r.Context())
	writeJSON(w, http.StatusOK, statsReply{Aliases: infos, Sections: snap.Sections})
}

func (h *Handler) apiKeys(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := h.cache(w, r, q.Get("alias"), true)
	if !ok {
		return
	}
	kp := h.keys(r.Context(), c, q.Get("prefix"), q.Get("after"), h.limit(r))
	status := http.StatusOK
	switch {
	case !kp.CanList:
		status = http.StatusNotImplemented
		kp.Error = keyedcache.ErrCannotList.Error()
	case kp.Error != "":
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, kp)
}

func (h *Handler) apiKey(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := h.cache(w, r, q.Get("alias"), true)
	if !ok {
		return
	}
	if !q.Has("key") {
		writeJSONError(w, http.StatusBadRequest, "no key")
		return
	}
	ctx, cancel := h.timeout(r.Context())
	defer cancel()
	ki := h.inspect(ctx, c, q.Get("key"), detailPreview, true)
	switch {
	case ki.Gone:
		writeJSON(w, http.StatusNotFound, ki)
	case ki.Error != "":
		writeJSON(w, http.StatusServiceUnavailable, ki)
	default:
		writeJSON(w, http.StatusOK, ki)
	}
}

func (h *Handler) apiDelete(w http.ResponseWriter, r *http.Request) {
	if err := form(w, r); err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad form: "+err.Error())
		return
	}
	c, ok := h.cache(w, r, r.PostForm.Get("alias"), true)
	if !ok {
		return
	}
	if !r.PostForm.Has("key") {
		writeJSONError(w, http.StatusBadRequest, "no key to delete")
		return
	}
	key, children := r.PostForm.Get("key"), r.PostForm.Get("children") == "1"
	if err := h.delete(r, c, key, children); err != nil {
		writeJSONError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"alias": c.Alias(), "deleted": key, "children": children})
}

func (h *Handler) apiClear(w http.ResponseWriter, r *http.Request) {
	if err := form(w, r); err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad form: "+err.Error())
		return
	}
	c, ok := h.cache(w, r, r.PostForm.Get("alias"), true)
	if !ok {
		return
	}
	switch err := h.clear(r, c); {
	case errors.Is(err, errConfirm):
		writeJSONError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		writeJSONError(w, http.StatusServiceUnavailable, err.Error())
	default:
		writeJSON(w, http.StatusOK, map[string]any{"alias": c.Alias(), "cleared": true})
	}
}
