package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// The message catalogue the browser bundle and the server pages share.
//
//go:embed src/i18n/*.json
var catalogueFS embed.FS

//go:embed templates/*.html
var templateFS embed.FS

// DefaultLang is the language of every page unless the user chose another.
const DefaultLang = "zh-CN"

// Catalogue maps a language to its messages, keyed like "poster.title".
type Catalogue map[string]map[string]string

// LoadCatalogue reads the embedded message catalogue.
func LoadCatalogue() (Catalogue, error) {
	c := Catalogue{}
	for _, lang := range []string{"zh-CN", "en"} {
		b, err := catalogueFS.ReadFile("src/i18n/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: catalogue %s: %w", lang, err)
		}
		c[lang] = m
	}
	return c, nil
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

// T returns the message key in lang (falling back to DefaultLang, then the
// key itself) with {name} placeholders filled from args, given as name,
// value pairs.
func (c Catalogue) T(lang, key string, args ...any) string {
	msg, ok := c[lang][key]
	if !ok {
		if msg, ok = c[DefaultLang][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	vals := map[string]string{}
	for i := 0; i+1 < len(args); i += 2 {
		vals[fmt.Sprint(args[i])] = fmt.Sprint(args[i+1])
	}
	return placeholder.ReplaceAllStringFunc(msg, func(m string) string {
		if v, ok := vals[m[1:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// Pages renders the server-side pages (the resident lookup, building and
// grid pages, posters) from templates/*.html with the catalogue. It
// implements api.PageRenderer.
type Pages struct {
	cat  Catalogue
	tmpl map[string]*template.Template // one per language, the t func bound to it
}

// NewPages parses the templates once per language, for the embedded bundle.
func NewPages() (*Pages, error) { return NewPagesFor(Config{}) }

// NewPagesFor parses the templates for the bundle of cfg (cfg.Bundle, nil:
// the embedded one): their {{asset "page.js"}} is that bundle's hashed name
// of the file, "/assets/page-HASH.js".
func NewPagesFor(cfg Config) (*Pages, error) {
	cat, err := LoadCatalogue()
	if err != nil {
		return nil, err
	}
	b := openBundle(cfg)
	p := &Pages{cat: cat, tmpl: map[string]*template.Template{}}
	for lang := range cat {
		lang := lang
		funcs := template.FuncMap{
			"t":       func(key string, args ...any) string { return cat.T(lang, key, args...) },
			"lang":    func() string { return lang },
			"join":    strings.Join,
			"asset":   b.Asset,
			"preload": b.Preload,
			"stars":   func() []int { return []int{5, 4, 3, 2, 1} },
		}
		t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		p.tmpl[lang] = t
	}
	return p, nil
}

// Render writes template name ("building.html", "poster.html", …) in lang.
func (p *Pages) Render(w io.Writer, name, lang string, data any) error {
	t, ok := p.tmpl[lang]
	if !ok {
		t = p.tmpl[DefaultLang]
	}
	return t.ExecuteTemplate(w, name, data)
}

// T is the catalogue lookup, for text the server builds outside templates.
func (p *Pages) T(lang, key string, args ...any) string { return p.cat.T(lang, key, args...) }

// Lang picks a request's language: ?lang=, then the gridmap_lang cookie the
// language switch sets, then DefaultLang.
func (p *Pages) Lang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); p.tmpl[l] != nil {
		return l
	}
	if c, err := r.Cookie("gridmap_lang"); err == nil && p.tmpl[c.Value] != nil {
		return c.Value
	}
	return DefaultLang
}
