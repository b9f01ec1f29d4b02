package api

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"gridmap/geo"
)

func TestGroupPeople(t *testing.T) {
	resp := []geo.Responsible{
		{Role: geo.RoleGridWorker, Name: "张颖", Phone: "140"},
		{Role: geo.RolePolice, Name: "谭英", Phone: "141"},
		{Role: geo.RolePartyMember, Name: "彭卫国", Phone: "142"},
		{Role: geo.RoleGridLeader, Name: "彭卫国", Phone: "142"},
		{Role: geo.RoleGridLeader, Name: "彭卫国", Phone: "142"}, // the same duty twice (two areas)
	}
	got := groupPeople(resp)
	want := []personView{
		{Name: "彭卫国", Phone: "142", Roles: []geo.Role{geo.RolePartyMember, geo.RoleGridLeader}},
		{Name: "张颖", Phone: "140", Roles: []geo.Role{geo.RoleGridWorker}},
		{Name: "谭英", Phone: "141", Roles: []geo.Role{geo.RolePolice}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if !got[0].Lead() || got[1].Lead() {
		t.Errorf("Lead: got %v, %v; want true, false", got[0].Lead(), got[1].Lead())
	}
}

func TestChainText(t *testing.T) {
	grid := &geo.AreaRef{ID: 4, Name: "第04网格"}
	chain := []geo.AreaRef{{ID: 1, Name: "示范区"}, {ID: 2, Name: "幸福街道"}, {ID: 3, Name: "幸福社区"}, *grid}
	for _, c := range []struct {
		name string
		d    pageData
		want string
	}{
		{"district left out, grid left out", pageData{Chain: chain, Grid: grid}, "幸福街道 › 幸福社区"},
		{"short chain kept whole", pageData{Chain: chain[1:], Grid: grid}, "幸福街道 › 幸福社区"},
		{"no grid", pageData{Chain: chain[:3]}, "示范区 › 幸福街道 › 幸福社区"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.d.ChainText(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestPageBase(t *testing.T) {
	r := httptest.NewRequest("GET", "http://grid.local:8080/b/1/poster", nil)
	if got, want := (&Server{}).pageBase(r), "http://grid.local:8080"; got != want {
		t.Errorf("from the request: got %q, want %q", got, want)
	}
	if got, want := (&Server{PublicURL: "https://grid.example.cn/"}).pageBase(r), "https://grid.example.cn"; got != want {
		t.Errorf("configured: got %q, want %q", got, want)
	}
}
