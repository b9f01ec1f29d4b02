package tiles

import (
	"math"
	"strconv"
	"testing"
)

func rgb(t *testing.T, hex string) [3]float64 {
	t.Helper()
	if len(hex) != 7 || hex[0] != '#' {
		t.Fatalf("colour %q is not #rrggbb", hex)
	}
	var c [3]float64
	for i := range c {
		v, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		c[i] = float64(v) / 255
	}
	return c
}

// luminance is WCAG 2's relative luminance.
func luminance(c [3]float64) float64 {
	var l [3]float64
	for i, v := range c {
		if v <= 0.04045 {
			l[i] = v / 12.92
		} else {
			l[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*l[0] + 0.7152*l[1] + 0.0722*l[2]
}

func contrast(a, b [3]float64) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func over(top [3]float64, alpha float64, under [3]float64) [3]float64 {
	var c [3]float64
	for i := range c {
		c[i] = alpha*top[i] + (1-alpha)*under[i]
	}
	return c
}

// labelSurfaces are the backgrounds a label can sit on: its halo, the map's
// background under the tint of each level's fill, or of two adjacent
// levels' (a level's fill fades out once the level below shows, so no more
// than two are at full tint together).
func labelSurfaces(t *testing.T) map[string][3]float64 {
	t.Helper()
	bg := rgb(t, backgroundColour)
	backs := map[string][3]float64{"background": bg, "halo": rgb(t, haloColour)}
	for i, f := range levelColours {
		one := over(rgb(t, f), fillOpacity, bg)
		backs["fill "+strconv.Itoa(i)] = one
		if i+1 < len(levelColours) {
			backs["fills "+strconv.Itoa(i)+"+"+strconv.Itoa(i+1)] = over(rgb(t, levelColours[i+1]), fillOpacity, one)
		}
	}
	return backs
}

// TestLabelContrast: every label colour of the default style has a contrast
// of at least 4.5:1 (WCAG AA for text) against its halo and against every
// background a label can sit on: the map's background under the tint of each
// level's fill, or of two adjacent levels' (a level's fill fades out once the
// level below shows, so no more than two are at full tint together).
func TestLabelContrast(t *testing.T) {
	backs := labelSurfaces(t)
	labels := append([]string{defaultLabelColour}, levelLabelColours...)
	if len(levelLabelColours) != len(levelColours) {
		t.Errorf("%d label colours for %d levels", len(levelLabelColours), len(levelColours))
	}
	for _, l := range labels {
		for name, b := range backs {
			if c := contrast(rgb(t, l), b); c < 4.5 {
				t.Errorf("label %s on %s: contrast %.2f:1, want ≥ 4.5:1", l, name, c)
			}
		}
	}
	// The outline colours used before fail: the test can fail.
	if c := contrast(rgb(t, "#d95f02"), rgb(t, haloColour)); c >= 4.5 {
		t.Errorf("contrast computation: #d95f02 on white is %.2f, known to be about 3.4", c)
	}
}

// TestRoadLabelContrast: street names have a contrast of at least 4.5:1
// against their halo and every surface a name can sit on: the background,
// the tint of each level (and of two levels), and every road colour.
func TestRoadLabelContrast(t *testing.T) {
	backs := labelSurfaces(t)
	for _, r := range roadStyles {
		backs["road "+string(r.class)] = rgb(t, r.colour)
		if r.casing != "" {
			backs["casing "+string(r.class)] = rgb(t, r.casing)
		}
	}
	for name, b := range backs {
		if c := contrast(rgb(t, roadLabelColour), b); c < 4.5 {
			t.Errorf("street name %s on %s: contrast %.2f:1, want ≥ 4.5:1", roadLabelColour, name, c)
		}
	}
}
