package httpapi

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// RouteInfo is one registered operation with its access rule.
type RouteInfo struct {
	Method, Path, Summary string
	Access                Access
}

// Routes lists every huma operation, sorted by path then method.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for path, item := range s.API.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete, item.Options, item.Head, item.Patch, item.Trace} {
			if op == nil {
				continue
			}
			a, _ := AccessOf(op)
			out = append(out, RouteInfo{Method: op.Method, Path: path, Summary: op.Summary, Access: a})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// String renders the rule as in docs/api.md.
func (a Access) String() string {
	var out string
	switch a.Kind {
	case "permission":
		out = "permission `" + a.Permission + "`"
	case "permission-any":
		out = "any of `" + strings.Join(a.AnyOf, "`, `") + "`"
	case "api-key":
		out = "API key (scope `" + a.Scope + "`)"
	case "":
		return "UNDECLARED"
	default:
		out = a.Kind
	}
	if a.AllowPasswordChange {
		out += " (also with a temporary password)"
	}
	return out
}

// WriteRouteTable writes the markdown route table of docs/api.md.
func (s *Server) WriteRouteTable(w io.Writer) {
	fmt.Fprintln(w, "| Method | Path | Access | Summary |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, r := range s.Routes() {
		fmt.Fprintf(w, "| %s | `%s` | %s | %s |\n", r.Method, r.Path, r.Access, strings.ReplaceAll(r.Summary, "|", "\\|"))
	}
}
