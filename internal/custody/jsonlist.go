package custody

import (
	"encoding/json"
	"errors"
	"strings"
)

// errNotList is the decoder's refusal; callers name the field.
var errNotList = errors.New("Se esperaba una lista de objetos.")

// JSONList decodes a list-of-objects JSONField (accesorios,
// equipos_prueba) as the legacy clients send it: a JSON list, or a string
// holding one — the AC21 edit form JSON.stringifies both fields, and the
// legacy JSONField stored whatever came. null, "", the legacy default {}
// and a string holding any of them mean no items. Anything else (a number,
// a string that is not a JSON list, a list of non-objects) is an error for
// the caller to report under the field's name.
func JSONList(raw json.RawMessage) ([]map[string]any, error) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errNotList
	}
	return objectList(v)
}

// objectList reads an already decoded value as JSONList does.
func objectList(v any) ([]map[string]any, error) {
	return objectListDepth(v, true)
}

func objectListDepth(v any, unwrap bool) ([]map[string]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if len(x) == 0 { // the legacy default {}
			return nil, nil
		}
	case string:
		// One level only: a string holding a string is not a list.
		t := strings.TrimSpace(x)
		if !unwrap {
			break
		}
		if t == "" {
			return nil, nil
		}
		var inner any
		if err := json.Unmarshal([]byte(t), &inner); err != nil {
			return nil, errNotList
		}
		return objectListDepth(inner, false)
	case []any:
		out := make([]map[string]any, 0, len(x))
		for _, it := range x {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, errNotList
			}
			out = append(out, m)
		}
		return out, nil
	}
	return nil, errNotList
}
