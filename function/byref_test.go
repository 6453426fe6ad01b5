package function_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// TestByReferenceSharesResults checks what a by-reference store promises
// for a cached function's results, as for every value it keeps: a hit
// returns the very result that was computed (its slices and pointers
// shared, nothing decoded), while in copy mode every hit is a copy of its
// own.
func TestByReferenceSharesResults(t *testing.T) {
	ctx := context.Background()
	type result struct {
		Tags []string
	}
	fn := func(ctx context.Context, id int) (*result, error) {
		return &result{Tags: []string{"a", "b"}}, nil
	}
	for _, tc := range []struct {
		url    string
		shared bool
	}{
		{"memory://?by_reference=true", true},
		{"memory://", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			f := function.New(fn, function.WithCache(openCache(t, tc.url)), function.WithName(uniqueName(t)))
			first, err := f.Call(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			second, err := f.Call(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if st := f.Stats(); st.Hits != 1 || st.Computations != 1 {
				t.Fatalf("stats %+v: want the second call a hit", st)
			}
			if shared := first == second && &first.Tags[0] == &second.Tags[0]; shared != tc.shared {
				t.Fatalf("the hit shares the computed result: %v, want %v", shared, tc.shared)
			}
			if second.Tags[1] != "b" {
				t.Fatalf("hit %+v", second)
			}
		})
	}
}

// TestByReferenceInspect checks that the staff page's view of a cached
// function's entry on a by-reference store shows its result.
func TestByReferenceInspect(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://?by_reference=true")
	f := function.New(func(ctx context.Context, id int) (string, error) { return "chez panisse", nil },
		function.WithCache(c), function.WithName(uniqueName(t)))
	if _, err := f.Call(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e, err := c.Inspect(ctx, f.Key(1))
	if err != nil {
		t.Fatal(err)
	}
	view, ok := keyedcache.ViewEntry(c, f.Key(1), e.Value)
	want := keyedcache.EntryView{Value: "chez panisse", HasValue: true, Note: "cached function result"}
	if d := cmp.Diff(want, view); !ok || !e.ByReference || d != "" {
		t.Fatalf("by reference %v, viewed %v; view (-want +got):\n%s", e.ByReference, ok, d)
	}
}

// TestByReferenceForeignValue checks that another value kept by
// reference under a function's key — one CacheSet put there — is a miss,
// replaced by the function's result.
func TestByReferenceForeignValue(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://?by_reference=true")
	var cnt counted
	f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)))
	if err := c.Set(ctx, f.Key(1), []string{"not", "an", "entry"}); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Call(ctx, 1); err != nil || v != "result 1 of 1" {
		t.Fatalf("Call = %q, %v; want the function's result", v, err)
	}
	if v, err := f.Peek(ctx, 1); err != nil || v != "result 1 of 1" {
		t.Fatalf("Peek = %q, %v; want the result stored in place of the other value", v, err)
	}
	if st := f.Stats(); st.Computations != 1 || st.Errors == 0 {
		t.Fatalf("stats %+v: want one computation and the other value counted as an error", st)
	}
}
