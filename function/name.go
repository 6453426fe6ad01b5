package function

import (
	"fmt"
	"reflect"
	"regexp"
	"runtime"
	"strings"
)

// closureName matches the names the Go toolchain gives function literals
// ("pkg.Outer.func1", "pkg.init.func2.1"), method values ("pkg.T.M-fm")
// and generic functions ("pkg.Map[...]"): none of them names one cached
// function on its own, because captured variables, the receiver or the
// type arguments change what it computes.
var closureName = regexp.MustCompile(`\.func\d+(\.|$)|-fm$|\[\.\.\.\]`)

// funcName returns the name a cached function is known by: the name
// given with WithName, or the function's package path and name. It
// panics for a nil function, and for a closure, method value or generic
// function without a name, which are programming errors found at start.
func funcName(fn any, given string) string {
	v := reflect.ValueOf(fn)
	if !v.IsValid() || v.Kind() != reflect.Func || v.IsNil() {
		panic("function: nil function")
	}
	if given != "" {
		return given
	}
	rf := runtime.FuncForPC(v.Pointer())
	if rf == nil {
		panic("function: cannot tell the name of the function; give one with WithName")
	}
	name := rf.Name()
	local := name[strings.LastIndexByte(name, '/')+1:]
	if closureName.MatchString(local) {
		panic(fmt.Sprintf("function: %s is a closure, method value or generic function, whose name does not say what it computes; give it one with WithName", name))
	}
	return name
}
