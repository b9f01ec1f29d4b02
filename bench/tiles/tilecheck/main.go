// Command tilecheck checks, before bench/tiles measures anything, that
// gridmap and tegola serve the same tiles, and reports how each answers
// Accept-Encoding.
//
// Compare: every -every'th tile of the list is fetched from both servers
// with Accept-Encoding: gzip, decompressed when the body is a gzip stream,
// decoded with orb's encoding/mvt and compared: layer names and order,
// feature counts, and per feature its id, properties and geometry (in tile
// units). Identical decompressed bytes are counted too.
//
//	tilecheck -a 'http://…/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt' -b 'http://…/maps/gridmap/{z}/{x}/{y}.pbf' -list tiles.txt -every 10
//
// Probe: with -probe z/x/y it requests that tile from each server (-a, -b,
// and -bc: tegola with its cache on) with several Accept-Encoding values,
// twice each (the second can be a cache hit),
// and prints per answer the status, Content-Encoding, Vary, the cache header,
// whether the body is a gzip stream, and the body and Content-Length sizes.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
)

func main() {
	a := flag.String("a", "", "tile URL template of server A (gridmap) with {z}, {x}, {y}")
	b := flag.String("b", "", "tile URL template of server B (tegola)")
	bc := flag.String("bc", "", "with -probe: tile URL template of tegola with its cache on")
	list := flag.String("list", "", "file of tiles, one z/x/y a line")
	every := flag.Int("every", 1, "compare every n'th tile of the list")
	probe := flag.String("probe", "", "z/x/y: print how each server answers several Accept-Encoding values for this tile")
	flag.Parse()
	if *a == "" || *b == "" {
		fmt.Fprintln(os.Stderr, "tilecheck: -a and -b are required")
		os.Exit(2)
	}
	var err error
	if *probe != "" {
		servers := [][2]string{{"gridmap", *a}, {"tegola", *b}}
		if *bc != "" {
			servers = append(servers, [2]string{"tegola+cache", *bc})
		}
		err = probeEncodings(servers, *probe)
	} else {
		err = compare(*a, *b, *list, max(*every, 1))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tilecheck:", err)
		os.Exit(1)
	}
}

// client keeps bodies as sent: Accept-Encoding is set by hand.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func tileURL(template, zxy string) string {
	p := strings.Split(zxy, "/")
	return strings.NewReplacer("{z}", p[0], "{x}", p[1], "{y}", p[2]).Replace(template)
}

type answer struct {
	status      int
	encoding    string
	vary        string
	cache       string
	length      string // Content-Length header
	body        []byte
	gzipped     bool // body starts with the gzip magic number
	plain       []byte
	contentType string
}

func fetch(url, acceptEncoding string) (answer, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return answer{}, err
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{
		status: resp.StatusCode, encoding: resp.Header.Get("Content-Encoding"), vary: resp.Header.Get("Vary"),
		cache: resp.Header.Get("X-Tile-Cache") + resp.Header.Get("Tegola-Cache"), length: resp.Header.Get("Content-Length"),
		body: body, gzipped: len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b, plain: body,
		contentType: resp.Header.Get("Content-Type"),
	}
	if a.gzipped {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return a, fmt.Errorf("%s: %w", url, err)
		}
		if a.plain, err = io.ReadAll(zr); err != nil {
			return a, fmt.Errorf("%s: %w", url, err)
		}
	}
	return a, nil
}

// stats counts what one server sent over the compared tiles.
type stats struct {
	tiles, empty, gzipHeader, gzipBody, mismatchedEncoding int
	features                                               map[string]int
}

func (s *stats) add(a answer, ls mvt.Layers) {
	s.tiles++
	if len(a.plain) == 0 {
		s.empty++
	}
	if a.encoding == "gzip" {
		s.gzipHeader++
	}
	if a.gzipped {
		s.gzipBody++
	}
	if (a.encoding == "gzip") != a.gzipped {
		s.mismatchedEncoding++
	}
	for _, l := range ls {
		s.features[l.Name] += len(l.Features)
	}
}

func (s stats) String() string {
	return fmt.Sprintf("tiles=%d empty=%d content_encoding_gzip=%d gzip_bodies=%d encoding_header_wrong=%d features=%v",
		s.tiles, s.empty, s.gzipHeader, s.gzipBody, s.mismatchedEncoding, s.features)
}

func compare(ta, tb, list string, every int) error {
	f, err := os.Open(list)
	if err != nil {
		return err
	}
	defer f.Close()
	sa, sb := stats{features: map[string]int{}}, stats{features: map[string]int{}}
	var n, sameBytes, equal int
	var diffs []string
	sc := bufio.NewScanner(f)
	for i := 0; sc.Scan(); i++ {
		zxy := strings.TrimSpace(sc.Text())
		if zxy == "" || i%every != 0 {
			continue
		}
		n++
		aa, err := fetch(tileURL(ta, zxy), "gzip")
		if err != nil {
			return err
		}
		ab, err := fetch(tileURL(tb, zxy), "gzip")
		if err != nil {
			return err
		}
		if aa.status != http.StatusOK || ab.status != http.StatusOK {
			return fmt.Errorf("%s: status %d and %d", zxy, aa.status, ab.status)
		}
		la, err := mvt.Unmarshal(aa.plain)
		if err != nil {
			return fmt.Errorf("%s from A: %w", zxy, err)
		}
		lb, err := mvt.Unmarshal(ab.plain)
		if err != nil {
			return fmt.Errorf("%s from B: %w", zxy, err)
		}
		sa.add(aa, la)
		sb.add(ab, lb)
		if bytes.Equal(aa.plain, ab.plain) {
			sameBytes++
		}
		if d := diff(la, lb); d != "" {
			if len(diffs) < 20 {
				diffs = append(diffs, zxy+": "+d)
			}
		} else {
			equal++
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Printf("compared=%d decoded_equal=%d identical_bytes=%d\n", n, equal, sameBytes)
	fmt.Printf("A %s\nB %s\n", sa, sb)
	for _, d := range diffs {
		fmt.Println("DIFF", d)
	}
	if equal != n {
		return fmt.Errorf("%d of %d tiles differ", n-equal, n)
	}
	return nil
}

// diff describes the first difference between two decoded tiles, "" when
// they are equal: same layers in the same order, same extent and, feature by
// feature, the same id, properties and geometry.
func diff(a, b mvt.Layers) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d layers %v, %d layers %v", len(a), names(a), len(b), names(b))
	}
	for i := range a {
		la, lb := a[i], b[i]
		if la.Name != lb.Name || la.Extent != lb.Extent || la.Version != lb.Version {
			return fmt.Sprintf("layer %d: %s (extent %d, v%d) against %s (extent %d, v%d)", i, la.Name, la.Extent, la.Version, lb.Name, lb.Extent, lb.Version)
		}
		if len(la.Features) != len(lb.Features) {
			return fmt.Sprintf("layer %s: %d features against %d", la.Name, len(la.Features), len(lb.Features))
		}
		for j := range la.Features {
			fa, fb := la.Features[j], lb.Features[j]
			switch {
			case !reflect.DeepEqual(fa.ID, fb.ID):
				return fmt.Sprintf("layer %s feature %d: id %v against %v", la.Name, j, fa.ID, fb.ID)
			case !reflect.DeepEqual(map[string]any(fa.Properties), map[string]any(fb.Properties)):
				return fmt.Sprintf("layer %s feature %v: properties %v against %v", la.Name, fa.ID, fa.Properties, fb.Properties)
			case !orb.Equal(fa.Geometry, fb.Geometry):
				return fmt.Sprintf("layer %s feature %v: geometries differ", la.Name, fa.ID)
			}
		}
	}
	return ""
}

func names(ls mvt.Layers) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

// probeEncodings prints how each server answers Accept-Encoding values for
// one tile, twice each.
func probeEncodings(servers [][2]string, zxy string) error {
	values := []string{"", "gzip", "gzip, deflate, br", "gzip;q=0", "gzip; q=0", "gzip;q=0.0", "identity", "br", "deflate", "*", "*;q=0"}
	fmt.Printf("%-12s %-20s %-4s %6s %-7s %-16s %-5s %-9s %9s %11s %s\n",
		"server", "Accept-Encoding", "try", "status", "C-E", "Vary", "cache", "gzip body", "body B", "C-Length", "verdict")
	for _, s := range servers {
		name := s[0]
		for _, v := range values {
			for try := 1; try <= 2; try++ {
				a, err := fetch(tileURL(s[1], zxy), v)
				if err != nil {
					return fmt.Errorf("%s %q: %w", name, v, err)
				}
				fmt.Printf("%-12s %-20q %-4d %6d %-7s %-16s %-5s %-9v %9d %11s %s\n",
					name, v, try, a.status, orDash(a.encoding), orDash(a.vary), orDash(a.cache), a.gzipped, len(a.body), orDash(a.length), verdict(v, a))
			}
		}
	}
	return nil
}

// verdict says whether an answer is right for the Accept-Encoding sent
// (RFC 9110 section 12.5.3): a gzip body needs Content-Encoding: gzip and a
// client that accepts gzip; the header must not claim gzip for a plain body.
func verdict(acceptEncoding string, a answer) string {
	var problems []string
	if a.gzipped && a.encoding != "gzip" {
		problems = append(problems, "gzip body without Content-Encoding")
	}
	if !a.gzipped && a.encoding == "gzip" {
		problems = append(problems, "Content-Encoding gzip on a plain body")
	}
	if a.gzipped && !acceptsGzip(acceptEncoding) {
		problems = append(problems, "gzip sent to a client that does not accept it")
	}
	if a.length != "" && a.length != fmt.Sprint(len(a.body)) {
		problems = append(problems, "Content-Length differs from the body")
	}
	if len(problems) == 0 {
		return "ok"
	}
	return "WRONG: " + strings.Join(problems, "; ")
}

// acceptsGzip reads the values probeEncodings sends: no header accepts any
// coding (RFC 9110), a q of 0 refuses it.
func acceptsGzip(v string) bool {
	if v == "" {
		return true
	}
	for _, part := range strings.Split(v, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.TrimSpace(coding)
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
