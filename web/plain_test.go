package web

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:          "0s",
		963:        "963ns",
		1252:       "1.252µs",
		100622020:  "100.622ms",
		5123456789: "5.123s",
		2*time.Hour + 3*time.Minute + 4500*time.Millisecond: "2h3m4.5s",
		-100622020: "-100.622ms",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%d) = %q, want %q", int64(d), got, want)
		}
	}
}

type inner struct {
	Wait time.Duration `json:"wait"`
	Note string        `json:"note,omitempty"`
}

type hidden struct{ Took time.Duration }

type figures struct {
	inner                        // promoted, as encoding/json does
	hidden                       // unexported, its exported field promoted
	Name        string           `json:"name"`
	ComputeTime time.Duration    `json:"compute_time"`
	Calls       uint64           `json:"calls"`
	Rate        float64          `json:"rate"`
	Skipped     int              `json:"-"`
	Empty       []int            `json:"empty,omitempty"`
	Zero        time.Time        `json:"zero,omitzero"`
	At          time.Time        `json:"at"`
	Addr        netip.Addr       `json:"addr"`
	Per         map[string]inner `json:"per"`
	List        []time.Duration  `json:"list"`
	Ptr         *time.Duration   `json:"ptr"`
	Raw         json.RawMessage  `json:"raw"`
	Bytes       []byte           `json:"bytes"`
	ByInt       map[int]string   `json:"by_int"`
	Untagged    bool
	unexported  int
}

// TestPlain lays out what JSON would show, with durations for people.
func TestPlain(t *testing.T) {
	d := 1500 * time.Millisecond
	v := figures{
		inner: inner{Wait: 2 * time.Second}, hidden: hidden{Took: time.Millisecond},
		Name: "catalogue.price", ComputeTime: 100622020, Calls: 4, Rate: 0.75, Skipped: 1,
		At: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Addr: netip.MustParseAddr("192.0.2.1"),
		Per: map[string]inner{"a": {Wait: 3 * time.Microsecond, Note: "x"}}, List: []time.Duration{time.Minute},
		Ptr: &d, Raw: json.RawMessage(`{"n":1}`), Bytes: []byte("hi"), ByInt: map[int]string{2: "two"}, unexported: 1,
	}
	want := map[string]any{
		"wait": shown("2s"), "Took": shown("1ms"),
		"name": "catalogue.price", "compute_time": shown("100.622ms"), "calls": json.Number("4"), "rate": json.Number("0.75"),
		"at": "2025-03-01T12:00:00Z", "addr": "192.0.2.1",
		"per": map[string]any{"a": map[string]any{"wait": shown("3µs"), "note": "x"}}, "list": []any{shown("1m0s")},
		"ptr": shown("1.5s"), "raw": map[string]any{"n": json.Number("1")}, "bytes": "aGk=", "by_int": map[string]any{"2": "two"},
		"Untagged": false,
	}
	if diff := cmp.Diff(want, plain(v)); diff != "" {
		t.Errorf("plain (-want +got):\n%s", diff)
	}
	// The keys are those of encoding/json, whatever the values.
	data, _ := json.Marshal(v)
	var fromJSON map[string]any
	json.Unmarshal(data, &fromJSON)
	got := plain(v).(map[string]any)
	for k := range fromJSON {
		if _, ok := got[k]; !ok {
			t.Errorf("encoding/json has %q, plain has not", k)
		}
	}
	if len(got) != len(fromJSON) {
		t.Errorf("plain has %d fields, encoding/json %d", len(got), len(fromJSON))
	}
	// A cycle ends in a note, not a crash.
	type node struct{ Next *node }
	n := &node{}
	n.Next = n
	if _, ok := plain(n).(map[string]any); !ok {
		t.Errorf("a cycle: %#v", plain(n))
	}
}
