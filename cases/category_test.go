package cases

import (
	"strings"
	"testing"
)

func TestDefaultCatalogue(t *testing.T) {
	cat := DefaultCatalogue()
	list := cat.Categories()
	if len(list) < 40 {
		t.Errorf("%d categories, want at least 40", len(list))
	}
	groups := map[Group]int{}
	zh := map[string]string{}
	for _, c := range list {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Code, err)
		}
		if prev, ok := zh[c.Zh]; ok {
			t.Errorf("%s and %s share the Chinese name %s", prev, c.Code, c.Zh)
		}
		zh[c.Zh] = c.Code
		groups[c.Group]++
		if got, ok := cat.Category(c.Code); !ok || got.Code != c.Code {
			t.Errorf("Category(%q) = %v, %v", c.Code, got.Code, ok)
		}
	}
	for g, name := range GroupNames {
		if groups[g] == 0 {
			t.Errorf("group %s (%s) has no category", g, name)
		}
	}
	if _, ok := cat.Category("no_such_code"); ok {
		t.Error("Category found an unknown code")
	}
}

// Limits from city handbooks that the catalogue must keep.
func TestCatalogueHandbookLimits(t *testing.T) {
	cat := DefaultCatalogue()
	tests := []struct {
		code string
		want string // steps as "name:limit;..."
	}{
		{"exposed_rubbish", "clear:4h"},
		{"road_cleaning", "sweep:2h"},
		{"illegal_construction", "stop:4h;penalty:7d;removal:20d"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			c, ok := cat.Category(tt.code)
			if !ok {
				t.Fatalf("no category %s", tt.code)
			}
			var got []string
			for _, s := range c.Steps {
				got = append(got, s.En+":"+s.Limit.String())
			}
			if strings.Join(got, ";") != tt.want {
				t.Errorf("steps %s, want %s", strings.Join(got, ";"), tt.want)
			}
		})
	}
}

func TestParseCatalogueRefuses(t *testing.T) {
	head := strings.Join(catalogueHeader, ",") + "\n"
	good := "exposed_rubbish,city_appearance,暴露垃圾,Exposed rubbish,1,sanitation,true,清除/clear:4h,垃圾清除\n"
	tests := []struct {
		name string
		csv  string
		msg  string
	}{
		{"wrong header", "code,name\n", "header"},
		{"duplicate code", head + good + good, "already used"},
		{"missing English name", head + "x,other,其他,,1,grid_team,false,处置/handle:3d,完毕\n", "both the Chinese and the English"},
		{"unknown unit kind", head + "x,other,其他,Other,1,wizard,false,处置/handle:3d,完毕\n", "unknown unit kind"},
		{"unknown group", head + "x,misc,其他,Other,1,grid_team,false,处置/handle:3d,完毕\n", "unknown group"},
		{"tier 4 by default", head + "x,other,其他,Other,4,grid_team,false,处置/handle:3d,完毕\n", "default tier"},
		{"zero limit", head + "x,other,其他,Other,1,grid_team,false,处置/handle:0d,完毕\n", "positive"},
		{"minutes are not a unit", head + "x,other,其他,Other,1,grid_team,false,处置/handle:30m,完毕\n", "working hours or days"},
		{"step without English name", head + "x,other,其他,Other,1,grid_team,false,处置:3d,完毕\n", "名称/name:limit"},
		{"no closing condition", head + "x,other,其他,Other,1,grid_team,false,处置/handle:3d,\n", "closing condition"},
		{"upper-case code", head + "X,other,其他,Other,1,grid_team,false,处置/handle:3d,完毕\n", "lower-case"},
		{"photo flag not boolean", head + "x,other,其他,Other,1,grid_team,maybe,处置/handle:3d,完毕\n", "photo_on_handle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCatalogue(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want one containing %q", err, tt.msg)
			}
		})
	}
	if _, err := ParseCatalogue(strings.NewReader(head + good)); err != nil {
		t.Errorf("good catalogue refused: %v", err)
	}
}
