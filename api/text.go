package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/gorilla/mux"

	"gridmap/geo"
)

// Bounds of the text a request may carry, in characters. Codes, keys and ids
// in paths are short; query values and JSON strings (names, reasons) longer.
const (
	maxPathValueRunes  = 200
	maxQueryValueRunes = 1000
	maxJSONStringRunes = 4000
)

// checkText is the middleware that holds every path value and query
// parameter of a matched route to geo.CheckText before any handler sees it:
// bytes that are not text are a 400 naming the field, never a database error.
func (s *Server) checkText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkRequestText(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func checkRequestText(r *http.Request) error {
	for name, v := range mux.Vars(r) {
		// The field's name is spelled out only for an error: every tile
		// request has four path values.
		if geo.CheckText("", v, maxPathValueRunes) != nil {
			return geo.CheckText("path value {"+name+"}", v, maxPathValueRunes)
		}
	}
	if err := geo.CheckText("the path", r.URL.Path, 0); err != nil {
		return err
	}
	if r.URL.RawQuery == "" {
		return nil // r.URL.Query() would make an empty map
	}
	for k, vs := range r.URL.Query() {
		if err := geo.CheckText("query parameter name", k, 100); err != nil {
			return err
		}
		for _, v := range vs {
			if err := geo.CheckText("query parameter "+k, v, maxQueryValueRunes); err != nil {
				return err
			}
		}
	}
	return nil
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// checkJSONText walks every string a decoded JSON body holds (struct fields,
// slices, arrays, maps and their keys, pointers and interfaces) and holds
// each to geo.CheckText, naming it by its JSON path (areas[0].code).
// json.RawMessage values are left to whoever decodes them.
func checkJSONText(v any) error {
	return walkText("", reflect.ValueOf(v))
}

func walkText(path string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return walkText(path, v.Elem())
	case reflect.String:
		name := path
		if name == "" {
			name = "the body"
		}
		return geo.CheckText(name, v.String(), maxJSONStringRunes)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
				continue
			} else if tag != "" {
				name = tag
			}
			sub := joinPath(path, name)
			if f.Anonymous && f.Tag.Get("json") == "" {
				sub = path // embedded: its fields are the outer object's
			}
			if err := walkText(sub, v.Field(i)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == rawMessageType || v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := walkText(fmt.Sprintf("%s[%d]", path, i), v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key()
			if k.Kind() == reflect.String {
				if err := geo.CheckText(joinPath(path, "key"), k.String(), maxJSONStringRunes); err != nil {
					return err
				}
				if err := walkText(joinPath(path, k.String()), iter.Value()); err != nil {
					return err
				}
				continue
			}
			if err := walkText(path+"[]", iter.Value()); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
