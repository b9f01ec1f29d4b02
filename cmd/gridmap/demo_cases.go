package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand"
	"os"
	"sort"
	"sync"
	"time"

	"gridmap/cases"
	"gridmap/data"
	"gridmap/demo"
	"gridmap/geo"
)

// lockedRand is a seeded byte source safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// demoClock is the simulated time the demo's cases are played at.
type demoClock struct{ t time.Time }

func (c *demoClock) Now() time.Time { return c.t }

// loadDemoCases gives every area an office unit, creates the accounts
// demo-desk (admin: dispatcher and supervisor) and demo-worker (handler and
// grid worker of every unit, password from GRIDMAP_DEMO_PASSWORD or
// "demo-password"), and plays n cases of the year before now through the
// case store on a simulated clock: intake, accept, dispatch, start, handle,
// verify, close, rating; escalation sweeps run as the clock passes each
// hour. Deterministic by seed (tracking codes included).
func loadDemoCases(ctx context.Context, db *data.DB, ds *demo.Dataset, seed int64, n int, stdout io.Writer) error {
	start := time.Now()
	clk := &demoClock{t: start}
	store, err := data.NewCaseStore(ctx, db, data.CaseOptions{Now: clk.Now, Codes: &lockedRand{r: rand.New(rand.NewSource(seed))}})
	if err != nil {
		return err
	}
	auth := data.NewAuthService(db)
	pw := os.Getenv("GRIDMAP_DEMO_PASSWORD")
	if pw == "" {
		pw = "demo-password"
	}
	desk, err := auth.CreateUser(ctx, geo.NewUser{Name: "demo-desk", Password: pw, Role: geo.UserAdmin})
	if err != nil {
		return err
	}
	worker, err := auth.CreateUser(ctx, geo.NewUser{Name: "demo-worker", Password: pw, Role: geo.UserEditor, ScopeCode: ds.Areas[0].Code})
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
	plans := ds.CasePlans(seed, n, start)
	type step struct {
		at   time.Time
		plan int
		k    int // -1: intake; else the index into Steps
	}
	var steps []step
	for i, p := range plans {
		steps = append(steps, step{p.At, i, -1})
		at := p.At
		for k, d := range p.Steps {
			at = at.Add(d)
			steps = append(steps, step{at, i, k})
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at.Before(steps[j].at) })
	ids := make([]int64, len(plans))
	codes := make([]string, len(plans))
	photo := demoPhoto()
	lastSweep := time.Time{}
	failed := 0
	for _, s := range steps {
		clk.t = s.at
		if s.at.Sub(lastSweep) >= time.Hour {
			if _, err := store.EscalateDue(ctx, s.at); err != nil {
				return err
			}
			lastSweep = s.at
		}
		p := plans[s.plan]
		if s.k < 0 {
			res, err := store.Intake(ctx, nil, cases.Intake{Category: p.Category, Point: p.Point, Address: p.Address,
				Description: "演示事件", Source: cases.SourceResidentWeb})
			if err != nil {
				return fmt.Errorf("demo case %d: %w", s.plan, err)
			}
			codes[s.plan] = res.TrackingCode
			var id int64
			if err := db.Pool.QueryRow(ctx, `SELECT id FROM case_report WHERE tracking_code = $1`, cases.NormalizeTrackingCode(res.TrackingCode)).Scan(&id); err != nil {
				return err
			}
			ids[s.plan] = id
			continue
		}
		if ids[s.plan] == 0 {
			continue
		}
		if err := demoStep(ctx, store, desk, worker, ids[s.plan], codes[s.plan], p, s.k, photo); err != nil {
			failed++ // a step the case's state no longer allows: leave the case where it is
			ids[s.plan] = 0
		}
	}
	fmt.Fprintf(stdout, "demo: %d cases over a year (%d stopped early) in %s; staff demo-desk and demo-worker\n",
		len(plans), failed, time.Since(start).Round(time.Millisecond))
	return nil
}

func demoStep(ctx context.Context, store *data.CaseStore, desk, worker *geo.User, id int64, code string, p demo.CasePlan, k int, photo []byte) error {
	rec, err := store.Case(ctx, desk, id)
	if err != nil {
		return err
	}
	act := func(u *geo.User, req cases.ActionRequest) error {
		req.Version = rec.Version
		_, err := store.Act(ctx, u, id, req)
		return err
	}
	withPhoto := func() ([]int64, error) {
		pid, err := store.AddPhoto(ctx, worker, id, photo)
		return []int64{pid}, err
	}
	if p.Fate == demo.FateRejected {
		return act(desk, cases.ActionRequest{Action: cases.ActionReject, Reason: "不属于受理范围", PublicNote: "不属于受理范围，已告知"})
	}
	switch k {
	case 0:
		return act(desk, cases.ActionRequest{Action: cases.ActionAccept})
	case 1:
		return act(desk, cases.ActionRequest{Action: cases.ActionDispatch})
	case 2:
		return act(worker, cases.ActionRequest{Action: cases.ActionStart})
	case 3:
		ph, err := withPhoto()
		if err != nil {
			return err
		}
		return act(worker, cases.ActionRequest{Action: cases.ActionHandle, Photos: ph, PublicNote: "已处置"})
	case 4:
		ph, err := withPhoto()
		if err != nil {
			return err
		}
		return act(worker, cases.ActionRequest{Action: cases.ActionVerify, Photos: ph})
	case 5:
		return act(desk, cases.ActionRequest{Action: cases.ActionClose, PublicNote: "已结案"})
	case 6:
		_, err := store.Rate(ctx, code, p.Rating, "")
		return err
	}
	return nil
}

// demoPhoto is a small JPEG standing in for a photo of the site.
func demoPhoto() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		for y := 0; y < 48; y++ {
			img.Set(x, y, color.RGBA{uint8(90 + x), uint8(120 + y), 100, 255})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}
