package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// writeKML converts the areas FeatureCollection to KML 2.2: one Placemark per
// area, its properties as ExtendedData, its polygons in a MultiGeometry.
func writeKML(w io.Writer, fcJSON []byte) error {
	fc, err := geojson.UnmarshalFeatureCollection(fcJSON)
	if err != nil {
		return fmt.Errorf("export kml: %w", err)
	}
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString(`<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>gridmap areas</name>` + "\n")
	esc := func(s string) string {
		var sb strings.Builder
		xml.EscapeText(&sb, []byte(s))
		return sb.String()
	}
	for _, f := range fc.Features {
		fmt.Fprintf(&b, "<Placemark><name>%s</name><ExtendedData>", esc(fmt.Sprint(f.Properties["name"])))
		for _, k := range []string{"id", "level", "code", "parent_code", "valid_from"} {
			if v, ok := f.Properties[k]; ok && v != nil {
				fmt.Fprintf(&b, `<Data name="%s"><value>%s</value></Data>`, k, esc(fmt.Sprint(v)))
			}
		}
		b.WriteString("</ExtendedData><MultiGeometry>")
		var polys orb.MultiPolygon
		switch g := f.Geometry.(type) {
		case orb.MultiPolygon:
			polys = g
		case orb.Polygon:
			polys = orb.MultiPolygon{g}
		}
		for _, p := range polys {
			b.WriteString("<Polygon>")
			for i, ring := range p {
				tag := "innerBoundaryIs"
				if i == 0 {
					tag = "outerBoundaryIs"
				}
				fmt.Fprintf(&b, "<%s><LinearRing><coordinates>", tag)
				for j, pt := range ring {
					if j > 0 {
						b.WriteByte(' ')
					}
					b.WriteString(strconv.FormatFloat(pt[0], 'f', -1, 64) + "," + strconv.FormatFloat(pt[1], 'f', -1, 64))
				}
				fmt.Fprintf(&b, "</coordinates></LinearRing></%s>", tag)
			}
			b.WriteString("</Polygon>")
		}
		b.WriteString("</MultiGeometry></Placemark>\n")
	}
	b.WriteString("</Document></kml>\n")
	_, err = io.WriteString(w, b.String())
	return err
}
