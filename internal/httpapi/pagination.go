package httpapi

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
)

// Lists answer with the legacy bare JSON array by default. With ?page=
// (and optionally ?page_size=, default 50, at most 1000) they answer DRF's
// page object {count, next, previous, results}.

// PageParams are the optional paging query parameters; embed them in a
// list operation's input.
type PageParams struct {
	Page     int `query:"page" minimum:"0" doc:"Page number (1-based). Without it the whole list is a bare array."`
	PageSize int `query:"page_size" minimum:"0" maximum:"1000" doc:"Items per page (default 50)."`
}

// DefaultPageSize applies when ?page= comes without ?page_size=.
const DefaultPageSize = 50

// Paged reports whether the caller asked for a page.
func (p PageParams) Paged() bool { return p.Page > 0 }

// Limit and Offset for the store; zero Limit means everything.
func (p PageParams) Limit() int {
	if !p.Paged() {
		return 0
	}
	if p.PageSize <= 0 {
		return DefaultPageSize
	}
	return p.PageSize
}

// Offset of the requested page.
func (p PageParams) Offset() int {
	if !p.Paged() {
		return 0
	}
	return (p.Page - 1) * p.Limit()
}

// List is a list answer: a bare array, or a page.
type List[T any] struct {
	Items []T
	page  *pageInfo
}

type pageInfo struct {
	Count          int
	Next, Previous *string
	// Page, when set, is the page served, sent as "page" (the HPS
	// frontend's pager reads it).
	Page int
}

// NewList answers items; when p is paged, count is the total and base the
// request URL used to build next/previous links.
func NewList[T any](items []T, p PageParams, count int, base *url.URL) List[T] {
	if items == nil {
		items = []T{}
	}
	l := List[T]{Items: items}
	if !p.Paged() {
		return l
	}
	l.page = &pageInfo{Count: count}
	link := func(page int) *string {
		if base == nil {
			return nil
		}
		u := *base
		q := u.Query()
		q.Set("page", strconv.Itoa(page))
		u.RawQuery = q.Encode()
		s := u.String()
		return &s
	}
	if p.Offset()+len(items) < count {
		l.page.Next = link(p.Page + 1)
	}
	if p.Page > 1 {
		l.page.Previous = link(p.Page - 1)
	}
	return l
}

// WithPage adds the number of the page served to a page answer.
func (l List[T]) WithPage(n int) List[T] {
	if l.page != nil {
		p := *l.page
		p.Page = n
		l.page = &p
	}
	return l
}

// MarshalJSON writes the array or the page object.
func (l List[T]) MarshalJSON() ([]byte, error) {
	if l.page == nil {
		return json.Marshal(l.Items)
	}
	return json.Marshal(struct {
		Count    int     `json:"count"`
		Next     *string `json:"next"`
		Previous *string `json:"previous"`
		Page     int     `json:"page,omitempty"`
		Results  []T     `json:"results"`
	}{l.page.Count, l.page.Next, l.page.Previous, l.page.Page, l.Items})
}

// Schema documents both shapes.
func (l List[T]) Schema(r huma.Registry) *huma.Schema {
	item := r.Schema(reflect.TypeFor[T](), true, "")
	arr := &huma.Schema{Type: huma.TypeArray, Items: item}
	page := &huma.Schema{Type: huma.TypeObject, Properties: map[string]*huma.Schema{
		"count":    {Type: huma.TypeInteger},
		"next":     {Type: huma.TypeString, Nullable: true},
		"previous": {Type: huma.TypeString, Nullable: true},
		"page":     {Type: huma.TypeInteger, Description: "The page served (HPS request lists only)"},
		"results":  arr,
	}, Required: []string{"count", "next", "previous", "results"}}
	return &huma.Schema{OneOf: []*huma.Schema{arr, page},
		Description: "A bare array by default; with ?page= a page object {count, next, previous, results}."}
}

// CheckPage refuses a page past the end (DRF: 404 "Invalid page.").
func CheckPage(p PageParams, count int) error {
	if p.Paged() && p.Page > 1 && p.Offset() >= count {
		return &errs.Error{Kind: errs.KindNotFound, Message: "Invalid page."}
	}
	return nil
}
