package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// tree is a JSON value laid out for the page: figures from packages the
// page knows nothing of (per-function stats, request and process tiers,
// fields added to keyedcache.Stats later) show without changes here.
//
// An object is a two-column table; an object whose values are all
// objects, or a list of objects, is a table with a row each and a column
// per field; a list of scalars is a list; anything else is text.
type tree struct {
	Text    string     // a scalar, or a note for an empty value
	Pairs   []treePair // an object
	Columns []string   // a table: the column names (the first is the row's name for an object of objects)
	Rows    [][]tree   // a table: one row of cells per entry
	Items   []tree     // a list of scalars
}

type treePair struct {
	Name  string
	Value tree
}

// maxTreeDepth bounds nesting; deeper values show as JSON text.
const maxTreeDepth = 5

// newTree lays out any value that encodes to JSON, durations shown for
// people (see plain).
func newTree(v any) tree { return layout(plain(v), 0) }

func layout(x any, depth int) tree {
	if depth >= maxTreeDepth {
		data, _ := json.Marshal(x)
		return tree{Text: string(data)}
	}
	switch v := x.(type) {
	case map[string]any:
		if len(v) == 0 {
			return tree{Text: "(none)"}
		}
		names := slices.Sorted(maps.Keys(v))
		vals := make([]any, len(names))
		for i, n := range names {
			vals[i] = v[n]
		}
		if cols, ok := objectColumns(vals); ok {
			t := tree{Columns: append([]string{""}, cols...)}
			for _, n := range names {
				row := []tree{{Text: n}}
				for _, c := range cols {
					row = append(row, cell(v[n].(map[string]any), c, depth))
				}
				t.Rows = append(t.Rows, row)
			}
			return t
		}
		var t tree
		for _, n := range names {
			t.Pairs = append(t.Pairs, treePair{Name: n, Value: layout(v[n], depth+1)})
		}
		return t
	case []any:
		if len(v) == 0 {
			return tree{Text: "(none)"}
		}
		if cols, ok := objectColumns(v); ok {
			t := tree{Columns: cols}
			for _, e := range v {
				var row []tree
				for _, c := range cols {
					row = append(row, cell(e.(map[string]any), c, depth))
				}
				t.Rows = append(t.Rows, row)
			}
			return t
		}
		var t tree
		for _, e := range v {
			t.Items = append(t.Items, layout(e, depth+1))
		}
		return t
	case nil:
		return tree{Text: "—"}
	case shown:
		return tree{Text: string(v)}
	case json.Number:
		return tree{Text: v.String()}
	case string:
		return tree{Text: v}
	default:
		return tree{Text: fmt.Sprint(v)}
	}
}

func cell(row map[string]any, col string, depth int) tree {
	v, ok := row[col]
	if !ok {
		return tree{}
	}
	return layout(v, depth+2)
}

// leadColumns name a row; when present they come first.
var leadColumns = []string{"name", "alias", "key"}

// objectColumns reports whether every element is a non-empty object, and
// the union of their fields: naming fields first, then the rest sorted.
func objectColumns(vals []any) ([]string, bool) {
	seen := map[string]bool{}
	for _, v := range vals {
		m, ok := v.(map[string]any)
		if !ok || len(m) == 0 {
			return nil, false
		}
		for k := range m {
			seen[k] = true
		}
	}
	var cols []string
	for _, k := range leadColumns {
		if seen[k] {
			cols = append(cols, k)
			delete(seen, k)
		}
	}
	return append(cols, slices.Sorted(maps.Keys(seen))...), true
}
