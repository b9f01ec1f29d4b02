package api

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridmap/calendar"
	"gridmap/geo"
	"gridmap/poster"
)

// PageRenderer renders the server-side HTML pages from templates and the
// message catalogue; web.Pages implements it.
type PageRenderer interface {
	// Render writes template name (e.g. "building.html") in lang with data.
	Render(w io.Writer, name, lang string, data any) error
	// T looks up a message in lang, filling {name} placeholders from name, value pairs.
	T(lang, key string, args ...any) string
	// Lang is the language a request asks for (?lang=, the language cookie, the default).
	Lang(r *http.Request) string
}

// pageRoutes registers the resident lookup page, the building and grid pages
// and their posters.
func (s *Server) pageRoutes(r *mux.Router) {
	if s.Pages == nil {
		return
	}
	r.HandleFunc("/", s.handle(s.handleResidentPage)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/b/{code}", s.handle(s.handleBuildingPage("building.html"))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/b/{code}/poster", s.handle(s.handleBuildingPage("poster.html"))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/g/{code}", s.handle(s.handleGridPage("grid.html"))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/g/{code}/poster", s.handle(s.handleGridPage("poster.html"))).Methods(http.MethodGet, http.MethodHead)
	if s.Cases != nil {
		r.HandleFunc("/c/{code}", s.handle(s.handleCasePage)).Methods(http.MethodGet, http.MethodHead)
	}
}

// personView is one person of a grid's team with all the duties they hold.
type personView struct {
	Name  string
	Phone string
	Photo string
	Roles []geo.Role
}

// Lead reports whether the person is the grid leader.
func (p personView) Lead() bool {
	for _, r := range p.Roles {
		if r == geo.RoleGridLeader {
			return true
		}
	}
	return false
}

// countsView are the totals a notice board shows. Groups are the groups'
// counts as the page's audience may see them (geo.CountPolicy.Show); the
// template shows only those.
type countsView struct {
	Buildings  int
	Households int
	Residents  int
	Groups     geo.ShownCounts
	sum        geo.NoticeCounts
}

func (c *countsView) add(b geo.Building) {
	c.Buildings++
	c.Households += b.Households
	c.Residents += b.Residents
	c.sum.Add(b.Counts)
}

// show fills Groups from the sums for aud, per building or per grid.
func (c *countsView) show(p geo.CountPolicy, aud geo.Audience, perBuilding bool) {
	c.Groups = p.Show(c.sum, aud, perBuilding)
}

// pageData is what the page templates see.
type pageData struct {
	Lang            string
	Kind            string // "building" or "grid"
	Building        *buildingJSON
	Grid            *geo.AreaRef
	Chain           []geo.AreaRef // top level down to the grid
	Team            []personView  // the grid's people, grid leader first
	Leader          *personView   // the grid leader, when public
	BuildingLeaders []personView
	GridCounts      countsView
	BuildingCounts  *countsView
	PerGridOnly     int            // > 0: the building's sensitive counts are not shown; the threshold, for the note
	Buildings       []geo.Building // the grid's buildings (grid page), by address
	MoreBuildings   int
	PageURL         string // absolute URL of the building or grid page (the QR's content)
	PagePath        string
	MapSVG          template.HTML
	Contact         geo.Contact // the community office (poster); Hotline always set on posters
	Legend          legendView  // what the poster's map draws, so its legend shows just that
	QRSVG           template.HTML
	Updated         string    // YYYY-MM-DD, China Standard Time
	NotFound        string    // set on the not-found page
	Query           string    // the resident page's address (?address=), filled into its search box
	Case            *caseView // the tracking page (/c/{code})
	ReportURL       string    // the building's "扫码报事" link (/b/{code}?report=1), absolute
	// OGTitle and OGDescription are the page's Open Graph preview (og:title,
	// og:description), which chat apps show for a shared link; OGTitle names
	// the grid where the page has one. Empty: no og: tags.
	OGTitle       string
	OGDescription string
}

// setOpenGraph fills the preview of a page about d.Grid (and d.Building).
func (s *Server) setOpenGraph(d *pageData) {
	if d.Grid == nil {
		return
	}
	d.OGTitle = s.Pages.T(d.Lang, "og.grid", "grid", d.Grid.Name)
	if d.Building != nil {
		d.OGTitle = s.Pages.T(d.Lang, "og.building", "address", d.Building.Address, "grid", d.Grid.Name)
	}
	d.OGDescription = s.Pages.T(d.Lang, "og.description", "chain", d.ChainText())
}

// GET / — the resident lookup. The page's text is rendered here, so it shows
// before any script; web/src/resident.js does the searching. A shared link
// (?address= or ?lon=&lat=) is looked up once for its preview: og:title names
// the grid. A query that is invalid or finds nothing gets the page's general
// preview; the script then says what is wrong.
func (s *Server) handleResidentPage(w http.ResponseWriter, r *http.Request) error {
	lang := s.Pages.Lang(r)
	d := &pageData{Lang: lang, Kind: "resident", PagePath: "/"}
	d.PageURL = s.pageBase(r) + r.URL.RequestURI()
	q := r.URL.Query()
	d.Query = q.Get("address")
	if q.Get("address") != "" || q.Get("lon") != "" {
		if p, err := parseLookupParams(q); err == nil {
			var lr *geo.LookupResult
			if p.Address != "" {
				if ar, err := s.Lookup.LookupAddress(r.Context(), p.Address, 1, p.Hierarchy); err == nil && len(ar.Candidates) > 0 {
					lr = &ar.LookupResult
				}
			} else if res, err := s.Lookup.LookupPoint(r.Context(), geo.LookupQuery{Point: *p.Point, Hierarchy: p.Hierarchy}); err == nil {
				lr = res
			}
			if lr != nil && lr.Grid != nil {
				d.Chain, d.Grid = lr.Areas, lr.Grid
				s.setOpenGraph(d)
			}
		}
	}
	if d.OGTitle == "" {
		d.OGTitle, d.OGDescription = s.Pages.T(lang, "resident.title"), s.Pages.T(lang, "og.home")
	}
	return s.renderPage(w, r, "resident.html", d)
}

// legendView says which kinds of feature the poster's map draws.
type legendView struct{ Neighbours, Dots, Footprints bool }

// ChainText is 街道 › 社区 (the chain above the grid, top level left out).
func (d pageData) ChainText() string {
	var names []string
	for i, a := range d.Chain {
		if i == 0 && len(d.Chain) > 3 || d.Grid != nil && a.ID == d.Grid.ID {
			continue
		}
		names = append(names, a.Name)
	}
	return strings.Join(names, " › ")
}

const pageBuildingLimit = 1000

// pageBase is the absolute base URL printed links use: Server.PublicURL,
// or the scheme and host the request came to.
func (s *Server) pageBase(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// pageAudience is who a page shows counts to: signed-in staff see exact
// counts on the pages, but a poster is printed to hang in public, so it
// always follows the public rule, whoever prints it.
func (s *Server) pageAudience(r *http.Request, tmpl string) geo.Audience {
	if tmpl == "poster.html" {
		return geo.Public
	}
	return audience(r)
}

// GET /b/{code} and /b/{code}/poster
func (s *Server) handleBuildingPage(tmpl string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lang := s.Pages.Lang(r)
		code := mux.Vars(r)["code"]
		b, err := s.Buildings.Building(r.Context(), code)
		if err != nil {
			return s.pageError(w, r, lang, err, s.Pages.T(lang, "page.notFound.building", "code", code))
		}
		aud := s.pageAudience(r, tmpl)
		bj := s.toBuildingJSON(*b, aud)
		d := &pageData{Lang: lang, Kind: "building", Building: &bj, PagePath: "/b/" + b.Code}
		d.PageURL = s.pageBase(r) + d.PagePath
		if s.Cases != nil {
			d.ReportURL = d.PageURL + "?report=1"
		}
		lr, err := s.Lookup.LookupPoint(r.Context(), geo.LookupQuery{Point: b.Point})
		if err != nil {
			return s.pageError(w, r, lang, err, "")
		}
		d.Chain, d.Grid = lr.Areas, lr.Grid
		var bc countsView
		bc.add(*b)
		bc.show(s.cfg.Counts, aud, true)
		if len(bc.Groups) < len(geo.CountGroups) {
			d.PerGridOnly = s.cfg.Counts.Threshold()
		}
		d.BuildingCounts = &bc
		if d.Grid != nil {
			resp, err := s.People.Responsible(r.Context(), d.Grid.ID, b.ID)
			if err == nil {
				err = s.fillGrid(r.Context(), d, resp, tmpl == "poster.html", &b.Point, aud)
			}
			if err != nil {
				return s.pageError(w, r, lang, err, "")
			}
		}
		s.setOpenGraph(d)
		return s.renderPage(w, r, tmpl, d)
	}
}

// GET /g/{code} and /g/{code}/poster
func (s *Server) handleGridPage(tmpl string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		lang := s.Pages.Lang(r)
		code := mux.Vars(r)["code"]
		a, err := s.Areas.Area(r.Context(), code)
		if err == nil && a.RetiredAt != nil {
			err = geo.Errorf(geo.ENotFound, "area %s is retired", code)
		}
		if err != nil {
			return s.pageError(w, r, lang, err, s.Pages.T(lang, "page.notFound.grid", "code", code))
		}
		d := &pageData{Lang: lang, Kind: "grid", Grid: &geo.AreaRef{ID: a.ID, Level: a.Level, Code: a.Code, Name: a.Name}, PagePath: "/g/" + a.Code}
		d.PageURL = s.pageBase(r) + d.PagePath
		if d.Chain, err = s.Areas.AreaChain(r.Context(), a.ID); err != nil {
			return s.pageError(w, r, lang, err, "")
		}
		resp, err := s.People.Responsible(r.Context(), a.ID, 0)
		if err == nil {
			err = s.fillGrid(r.Context(), d, resp, tmpl == "poster.html", nil, s.pageAudience(r, tmpl))
		}
		if err != nil {
			return s.pageError(w, r, lang, err, "")
		}
		s.setOpenGraph(d)
		return s.renderPage(w, r, tmpl, d)
	}
}

// fillGrid adds the grid's team, counts and buildings, and for a poster the
// SVG map (marked: the building the poster is for) and the QR code.
func (s *Server) fillGrid(ctx context.Context, d *pageData, resp []geo.Responsible, isPoster bool, marked *orb.Point, aud geo.Audience) error {
	var grid, leaders []geo.Responsible
	for _, r := range resp {
		if r.Role == geo.RoleBuildingLeader {
			if d.Building != nil && r.Building == d.Building.Code {
				leaders = append(leaders, r)
			}
			continue
		}
		grid = append(grid, r)
	}
	d.Team = groupPeople(grid)
	d.BuildingLeaders = groupPeople(leaders)
	for i := range d.Team {
		if d.Team[i].Lead() {
			d.Leader = &d.Team[i]
			break
		}
	}
	bs, err := s.Buildings.FindBuildings(ctx, geo.BuildingFilter{GridID: d.Grid.ID, Limit: pageBuildingLimit})
	if err != nil {
		return err
	}
	for _, b := range bs {
		d.GridCounts.add(b)
	}
	d.GridCounts.show(s.cfg.Counts, aud, false)
	if d.Kind == "grid" && !isPoster {
		sort.Slice(bs, func(i, j int) bool { return bs[i].Address < bs[j].Address })
		const listed = 200
		if len(bs) > listed {
			d.MoreBuildings = len(bs) - listed
			bs = bs[:listed]
		}
		d.Buildings = bs
	}
	d.Updated = time.Now().In(calendar.Shanghai()).Format("2006-01-02")
	if !isPoster {
		return nil
	}
	m, err := s.posterMap(ctx, d.Grid, bs, marked)
	if err != nil {
		return err
	}
	m.Title = d.Grid.Name
	if s.Contacts != nil {
		ids := make([]int64, len(d.Chain))
		for i, a := range d.Chain {
			ids[i] = a.ID
		}
		c, _, err := s.Contacts.Contact(ctx, ids)
		if err != nil {
			return err
		}
		d.Contact = c
	}
	if d.Contact.Hotline == "" {
		d.Contact.Hotline = s.Hotline
	}
	d.Legend = legendView{Neighbours: len(m.Neighbours) > 0, Dots: len(m.Buildings) > 0, Footprints: len(m.Footprints) > 0}
	d.MapSVG = template.HTML(m.SVG())
	qr, err := poster.QRSVG(d.PageURL)
	if err != nil {
		return geo.Internal("api.fillGrid", err)
	}
	d.QRSVG = template.HTML(qr)
	return nil
}

// posterMap gathers the grid, the grids around it and its buildings.
func (s *Server) posterMap(ctx context.Context, grid *geo.AreaRef, bs []geo.Building, marked *orb.Point) (*poster.Map, error) {
	own, err := s.areaGeometries(ctx, geo.AreaFilter{ID: grid.ID})
	if err != nil {
		return nil, err
	}
	// 1000 × 642 has the aspect of the poster's 190 × 122 mm map box.
	m := &poster.Map{Marked: marked, GridLabel: grid.Name, Width: 1000, Height: 642}
	for _, f := range own {
		m.Grid = append(m.Grid, f.geom...)
	}
	b := m.Grid.Bound()
	if marked != nil {
		b = b.Extend(*marked)
	}
	// The neighbours that reach into the frame (the frame is a little larger than the grid).
	dx, dy := (b.Max[0]-b.Min[0])*0.6, (b.Max[1]-b.Min[1])*0.6
	frame := orb.Bound{Min: orb.Point{b.Min[0] - dx, b.Min[1] - dy}, Max: orb.Point{b.Max[0] + dx, b.Max[1] + dy}}
	around, err := s.areaGeometries(ctx, geo.AreaFilter{Level: grid.Level, Bound: &frame, Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, f := range around {
		if f.id != grid.ID {
			m.Neighbours = append(m.Neighbours, poster.Outline{Geometry: f.geom, Label: f.name})
		}
	}
	if s.Roads != nil {
		// The streets and paths in the frame, so people can orient.
		if m.Roads, err = s.Roads.RoadsIn(ctx, frame); err != nil {
			return nil, err
		}
	}
	for _, bl := range bs {
		if marked != nil && bl.Point == *marked {
			continue
		}
		if bl.Footprint != nil {
			m.Footprints = append(m.Footprints, bl.Footprint)
		} else {
			m.Buildings = append(m.Buildings, bl.Point)
		}
	}
	return m, nil
}

type areaGeom struct {
	id   int64
	name string
	geom orb.MultiPolygon
}

// areaGeometries decodes AreasGeoJSON's FeatureCollection.
func (s *Server) areaGeometries(ctx context.Context, f geo.AreaFilter) ([]areaGeom, error) {
	raw, err := s.Areas.AreasGeoJSON(ctx, f)
	if err != nil {
		return nil, err
	}
	fc, err := geojson.UnmarshalFeatureCollection(raw)
	if err != nil {
		return nil, geo.Internal("api.areaGeometries", err)
	}
	out := make([]areaGeom, 0, len(fc.Features))
	for _, ft := range fc.Features {
		var mp orb.MultiPolygon
		switch g := ft.Geometry.(type) {
		case orb.MultiPolygon:
			mp = g
		case orb.Polygon:
			mp = orb.MultiPolygon{g}
		default:
			continue
		}
		id, _ := ft.Properties["id"].(float64)
		name, _ := ft.Properties["name"].(string)
		out = append(out, areaGeom{id: int64(id), name: name, geom: mp})
	}
	return out, nil
}

var roleRank = map[geo.Role]int{}

func init() {
	for i, r := range geo.Roles {
		roleRank[r] = i
	}
}

// groupPeople merges the duties of one person (same name, phone and photo),
// grid leader first, then by role order.
func groupPeople(resp []geo.Responsible) []personView {
	var out []personView
	idx := map[string]int{}
	for _, r := range resp {
		key := r.Name + "|" + r.Phone + "|" + r.Photo
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, personView{Name: r.Name, Phone: r.Phone, Photo: r.Photo})
		}
		if !containsRole(out[i].Roles, r.Role) {
			out[i].Roles = append(out[i].Roles, r.Role)
		}
	}
	best := func(p personView) int {
		m := len(geo.Roles)
		for _, r := range p.Roles {
			m = min(m, roleRank[r])
		}
		return m
	}
	sort.SliceStable(out, func(i, j int) bool { return best(out[i]) < best(out[j]) })
	return out
}

func containsRole(rs []geo.Role, r geo.Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// renderPage renders into a buffer first so that a template error is a 500, not half a page.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, tmpl string, d *pageData) error {
	var buf bytes.Buffer
	if err := s.Pages.Render(&buf, tmpl, d.Lang, d); err != nil {
		return geo.Internal("api.renderPage", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Language", d.Lang)
	w.Header().Set("Vary", "Cookie")
	w.Write(buf.Bytes())
	return nil
}

// pageError answers a page request that failed: an HTML not-found page with
// msg for ENotFound (nil is returned), err itself otherwise (s.handle writes it).
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, lang string, err error, msg string) error {
	if geo.ErrorCode(err) != geo.ENotFound || msg == "" {
		return err
	}
	var buf bytes.Buffer
	if rerr := s.Pages.Render(&buf, "notfound.html", lang, &pageData{Lang: lang, NotFound: msg}); rerr != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write(buf.Bytes())
	return nil
}
