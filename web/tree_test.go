package web

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTreeLayout(t *testing.T) {
	type fn struct {
		Name  string `json:"name"`
		Calls int    `json:"calls"`
		Hits  int    `json:"hits"`
	}
	for _, tc := range []struct {
		name string
		in   any
		want tree
	}{
		{"scalar", 3, tree{Text: "3"}},
		{"empty", map[string]int{}, tree{Text: "(none)"}},
		{"object", map[string]any{"b": 2, "a": "x"}, tree{Pairs: []treePair{{"a", tree{Text: "x"}}, {"b", tree{Text: "2"}}}}},
		{"list of objects, name first", []fn{{"report", 7, 5}, {"summary", 1, 0}}, tree{
			Columns: []string{"name", "calls", "hits"},
			Rows:    [][]tree{{{Text: "report"}, {Text: "7"}, {Text: "5"}}, {{Text: "summary"}, {Text: "1"}, {Text: "0"}}},
		}},
		{"object of objects", map[string]map[string]int{"b": {"x": 1}, "a": {"x": 2, "y": 3}}, tree{
			Columns: []string{"", "x", "y"},
			Rows:    [][]tree{{{Text: "a"}, {Text: "2"}, {Text: "3"}}, {{Text: "b"}, {Text: "1"}, {}}},
		}},
		{"list of scalars", []any{1, "a", nil, true}, tree{Items: []tree{{Text: "1"}, {Text: "a"}, {Text: "—"}, {Text: "true"}}}},
		{"not JSON", func() {}, tree{Text: "(cannot show: json: unsupported type: func())"}},
	} {
		if d := cmp.Diff(tc.want, newTree(tc.in), cmp.AllowUnexported(tree{}, treePair{})); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
	// Nesting is bounded: deep values show as JSON text.
	var deep any = 1
	for range 10 {
		deep = map[string]any{"d": deep, "n": 0}
	}
	tr := newTree(deep)
	for range maxTreeDepth {
		if len(tr.Pairs) != 2 || tr.Pairs[1].Name != "n" || tr.Pairs[1].Value.Text != "0" {
			t.Fatalf("depth: %+v", tr)
		}
		tr = tr.Pairs[0].Value
	}
	if tr.Text != `{"d":{"d":{"d":{"d":{"d":1,"n":0},"n":0},"n":0},"n":0},"n":0}` {
		t.Errorf("deep value shows as %q", tr.Text)
	}
}
