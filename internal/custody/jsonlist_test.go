package custody_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/thot-security/thot/internal/custody"
)

// The AC21 edit form (AC21Detail.tsx) sends accesorios and equipos_prueba
// as JSON.stringify'd strings; other clients send lists.
func TestJSONList(t *testing.T) {
	cable := []map[string]any{{"descripcion": "Cable", "cantidad": float64(2)}}
	cases := []struct {
		name string
		raw  string
		want []map[string]any
		bad  bool
	}{
		{name: "list", raw: `[{"descripcion":"Cable","cantidad":2}]`, want: cable},
		{name: "string holding a list", raw: `"[{\"descripcion\":\"Cable\",\"cantidad\":2}]"`, want: cable},
		{name: "string holding a list, spaced", raw: `" [ {\"descripcion\":\"Cable\",\"cantidad\":2} ] "`, want: cable},
		{name: "empty list as a string (JSON.stringify([]))", raw: `"[]"`, want: []map[string]any{}},
		{name: "empty list", raw: `[]`, want: []map[string]any{}},
		{name: "null", raw: `null`},
		{name: "absent", raw: ``},
		{name: "legacy default {}", raw: `{}`},
		{name: "empty string", raw: `""`},
		{name: "string holding null", raw: `"null"`},
		{name: "string holding {}", raw: `"{}"`},
		{name: "plain text", raw: `"cable"`, bad: true},
		{name: "string holding a string", raw: `"\"[]\""`, bad: true},
		{name: "string holding a number", raw: `"3"`, bad: true},
		{name: "number", raw: `3`, bad: true},
		{name: "boolean", raw: `true`, bad: true},
		{name: "object", raw: `{"descripcion":"Cable"}`, bad: true},
		{name: "list of strings", raw: `["Cable"]`, bad: true},
		{name: "string holding a list of strings", raw: `"[\"Cable\"]"`, bad: true},
		{name: "broken JSON", raw: `[{"descripcion":`, bad: true},
		{name: "string holding broken JSON", raw: `"[{"`, bad: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := custody.JSONList(json.RawMessage(c.raw))
			if c.bad {
				if err == nil {
					t.Fatalf("accepted %s as %v", c.raw, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused %s: %v", c.raw, err)
			}
			if len(got) != len(c.want) || (len(got) > 0 && !reflect.DeepEqual(got, c.want)) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// FuzzJSONList: the decoder never panics, and whatever it accepts it
// accepts the same way as a list and as a string holding that list — the
// two spellings the clients use.
//
//	go test -run '^$' -fuzz FuzzJSONList ./internal/custody/
func FuzzJSONList(f *testing.F) {
	for _, seed := range []string{
		`[{"descripcion":"Cable","cantidad":2}]`, `"[{\"codigo\":\"EQ-1\"}]"`, `"[]"`, `[]`, `null`, `{}`, `""`, `"null"`,
		`"cable"`, `3`, `["x"]`, `[{"a":[1,{"b":null}]}]`, `"\"[]\""`, `[{`, `"[{\"cantidad\":\"3\"}]"`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		items, err := custody.JSONList(raw)
		if err != nil {
			return
		}
		if items == nil {
			return // no items: nothing to re-encode
		}
		list, merr := json.Marshal(items)
		if merr != nil {
			t.Fatalf("accepted items do not re-encode: %v", merr)
		}
		again, err := custody.JSONList(list)
		if err != nil || !reflect.DeepEqual(again, items) {
			t.Fatalf("%s: as a list %v (%v), first %v", raw, again, err, items)
		}
		str, _ := json.Marshal(string(list))
		again, err = custody.JSONList(str)
		if err != nil || !reflect.DeepEqual(again, items) {
			t.Fatalf("%s: as a string %v (%v), first %v", raw, again, err, items)
		}
	})
}
