package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"gridmap/api"
	"gridmap/cases"
	"gridmap/data"
	"gridmap/demo"
	"gridmap/geo"
)

// caseSite is the case store of the test site with an office unit for every
// demo area and two staff accounts to drive cases as the desk and the worker.
type caseSite struct {
	store        *data.CaseStore
	desk, worker *geo.User
}

var theCases *caseSite

// wireCases adds the case store to the test site (the resident's 我要报事,
// /c/{code}).
func wireCases(ctx context.Context, db *data.DB, ds *demo.Dataset, deps *api.Server) error {
	store, err := data.NewCaseStore(ctx, db, data.CaseOptions{})
	if err != nil {
		return err
	}
	auth := data.NewAuthService(db)
	desk, err := auth.CreateUser(ctx, geo.NewUser{Name: "case-desk", Password: "case-desk-password", Role: geo.UserAdmin})
	if err != nil {
		return err
	}
	worker, err := auth.CreateUser(ctx, geo.NewUser{Name: "case-worker", Password: "case-worker-password", Role: geo.UserEditor, ScopeCode: ds.Areas[0].Code})
	if err != nil {
		return err
	}
	for _, a := range ds.Areas {
		kind, name := demo.UnitOf(a)
		u := data.UnitInput{Kind: kind, Name: name, AreaCode: a.Code}
		if _, err := store.CreateUnitWithMember(ctx, desk, u, worker.ID, cases.RoleHandler, cases.RoleGridWorker); err != nil {
			return err
		}
	}
	deps.Cases = store
	theCases = &caseSite{store: store, desk: desk, worker: worker}
	return nil
}

// caseID is the id of the case with a tracking code.
func (c *caseSite) caseID(t *testing.T, code string) int64 {
	t.Helper()
	var id int64
	if err := theSite.db.Pool.QueryRow(context.Background(), `SELECT id FROM case_report WHERE tracking_code = $1`,
		cases.NormalizeTrackingCode(code)).Scan(&id); err != nil {
		t.Fatalf("case %s: %v", code, err)
	}
	return id
}

// act runs an action as staff at the case's current version.
func (c *caseSite) act(t *testing.T, who *geo.User, id int64, req cases.ActionRequest) {
	t.Helper()
	ctx := context.Background()
	rec, err := c.store.Case(ctx, c.desk, id)
	if err != nil {
		t.Fatal(err)
	}
	req.Version = rec.Version
	if _, err := c.store.Act(ctx, who, id, req); err != nil {
		t.Fatalf("%s: %v", req.Action, err)
	}
}

// close drives a reported case to closed as the desk and the worker do.
func (c *caseSite) close(t *testing.T, id int64, publicNote string) {
	t.Helper()
	photo, err := c.store.AddPhoto(context.Background(), c.worker, id, testJPEG(t, 64, 48, false))
	if err != nil {
		t.Fatal(err)
	}
	c.act(t, c.desk, id, cases.ActionRequest{Action: cases.ActionAccept})
	c.act(t, c.desk, id, cases.ActionRequest{Action: cases.ActionDispatch})
	c.act(t, c.worker, id, cases.ActionRequest{Action: cases.ActionStart})
	c.act(t, c.worker, id, cases.ActionRequest{Action: cases.ActionHandle, Photos: []int64{photo}, PublicNote: publicNote})
	c.act(t, c.worker, id, cases.ActionRequest{Action: cases.ActionVerify, Photos: []int64{photo}})
	c.act(t, c.desk, id, cases.ActionRequest{Action: cases.ActionClose})
}

// testJPEG is a w×h JPEG; withGPS adds an APP1 Exif segment naming a GPS position.
func testJPEG(t *testing.T, w, h int, withGPS bool) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	jpg := buf.Bytes()
	if !withGPS {
		return jpg
	}
	payload := append([]byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"), []byte("GPSLatitude 30.2958N")...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

var _ = fmt.Sprint
