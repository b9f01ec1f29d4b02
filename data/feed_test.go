package data_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

func TestReshapeAnnouncesAndFeedRecovers(t *testing.T) {
	db, _ := dbtest.New(t, "data_feed")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	im := data.NewImporter(db)
	mustImportAreas(t, im, []geo.AreaInput{{Ref: "d", Level: "district", Code: "330199", Name: "示范区", Geometry: square(120, 30, 0.02)}})

	feed, events, resets := followFeed(t, ctx, db)
	as := data.NewAreaService(db)
	a, err := as.Area(ctx, "330199")
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := as.AreaVersions(ctx, a.ID)
	ed := data.NewEditor(db)

	t.Run("reshape announces old and new bounds", func(t *testing.T) {
		res, err := ed.ReshapeArea(ctx, geo.ReshapeRequest{AreaID: a.ID, BaseVersionID: vs[0].ID, Geometry: square(120, 30, 0.03), Author: "test", Reason: "grow"})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-events:
			if ev.Change != res.ChangeID || ev.Layer != geo.LayerAreas || len(ev.Areas) != 1 || ev.Areas[0] != a.ID || len(ev.Bounds) != 2 {
				t.Fatalf("got %+v, want change %d on areas with area %d and 2 bounds", ev, res.ChangeID, a.ID)
			}
			if got := ev.Bounds[1].Max[0]; got < 120.0299 || got > 120.0301 {
				t.Errorf("new bound max lon %v, want 120.03", got)
			}
		case <-time.After(time.Second):
			t.Fatal("no event within 1 s of the commit")
		}
		after, _ := as.AreaVersions(ctx, a.ID)
		if len(after) != 2 || after[0].ValidTo == nil || after[1].ValidTo != nil || after[1].ID != res.VersionID {
			t.Errorf("versions %+v, want the old one closed and the new one open", after)
		}
	})
	t.Run("stale base version is a conflict and writes nothing", func(t *testing.T) {
		_, err := ed.ReshapeArea(ctx, geo.ReshapeRequest{AreaID: a.ID, BaseVersionID: vs[0].ID, Geometry: square(120, 30, 0.01)})
		if geo.ErrorCode(err) != geo.EConflict {
			t.Fatalf("got %v, want conflict", err)
		}
		after, _ := as.AreaVersions(ctx, a.ID)
		if len(after) != 2 {
			t.Errorf("%d versions after a refused edit, want 2", len(after))
		}
	})
	t.Run("self-intersecting geometry is refused", func(t *testing.T) {
		bowtie := square(120, 30, 0.01)
		bowtie[0][0][1], bowtie[0][0][2] = bowtie[0][0][2], bowtie[0][0][1]
		_, err := ed.ReshapeArea(ctx, geo.ReshapeRequest{AreaID: a.ID, Geometry: bowtie})
		if geo.ErrorCode(err) != geo.EInvalid {
			t.Fatalf("got %v, want invalid_argument", err)
		}
	})
	t.Run("a lost connection resets subscribers and the feed comes back", func(t *testing.T) {
		pid := feed.BackendPID()
		if _, err := db.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-resets:
		case <-time.After(3 * time.Second):
			t.Fatal("no reset after the listening connection was terminated")
		}
		deadline := time.Now().Add(5 * time.Second)
		for feed.BackendPID() == 0 || feed.BackendPID() == pid {
			if time.Now().After(deadline) {
				t.Fatal("feed did not reconnect")
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, bounded by the deadline
		}
		cur, _ := as.AreaVersions(ctx, a.ID)
		res, err := ed.ReshapeArea(ctx, geo.ReshapeRequest{AreaID: a.ID, BaseVersionID: cur[len(cur)-1].ID, Geometry: square(120, 30, 0.02)})
		if err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case ev := <-events:
				if ev.Change == res.ChangeID {
					return
				}
			case <-time.After(time.Second):
				t.Fatal("no event after reconnecting")
			}
		}
	})
}

// Events arrive in commit order, whatever order the changes took their ids
// in, and none is skipped; a hole in the log (entries pruned before this
// process read them) resets the subscribers instead of skipping silently.
func TestChangeFeedFollowsCommitOrder(t *testing.T) {
	db, _ := dbtest.New(t, "data_feed_order")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, events, resets := followFeed(t, ctx, db)
	begin := func() (pgx.Tx, int64) {
		t.Helper()
		tx, err := db.Pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(context.Background()) })
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO change (author, operation, reason) VALUES ('test', 'test', '') RETURNING id`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return tx, id
	}
	commit := func(tx pgx.Tx, id int64) {
		t.Helper()
		if err := data.Announce(ctx, tx, geo.ChangeEvent{Change: id, Layer: geo.LayerAreas, Areas: []int64{id}}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	next := func() geo.ChangeEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(2 * time.Second):
			t.Fatal("no event within 2 s of the commit")
		}
		return geo.ChangeEvent{}
	}

	t.Run("a change that took its id first but committed last comes last, and comes", func(t *testing.T) {
		slow, a := begin()
		fast, b := begin()
		commit(fast, b)
		if ev := next(); ev.Change != b {
			t.Fatalf("first event for change %d, want %d (committed first)", ev.Change, b)
		}
		commit(slow, a)
		if ev := next(); ev.Change != a || len(ev.Areas) != 1 || ev.Areas[0] != a {
			t.Fatalf("second event %+v, want change %d with area %d", ev, a, a)
		}
		var end int64
		db.Pool.QueryRow(ctx, `SELECT seq FROM feed_counter`).Scan(&end)
		wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
		defer wcancel()
		if err := feed.WaitApplied(wctx, end); err != nil || feed.Applied() != end {
			t.Errorf("applied %d (%v), want the log's end %d", feed.Applied(), err, end)
		}
	})
	t.Run("a rolled-back change gives its number back: no hole", func(t *testing.T) {
		tx, id := begin()
		if err := data.Announce(ctx, tx, geo.ChangeEvent{Change: id, Layer: geo.LayerAreas}); err != nil {
			t.Fatal(err)
		}
		tx.Rollback(ctx)
		after, b := begin()
		commit(after, b)
		if ev := next(); ev.Change != b {
			t.Fatalf("event for change %d, want %d", ev.Change, b)
		}
		select {
		case <-resets:
			t.Fatal("a rollback made the feed reset")
		default:
		}
	})
	t.Run("a hole in the log resets the subscribers", func(t *testing.T) {
		if _, err := db.Pool.Exec(ctx, `WITH s AS (UPDATE feed_counter SET seq = seq + 2 RETURNING seq)
			INSERT INTO change_log (seq, change_id, layer) SELECT s.seq, (SELECT min(id) FROM change), 'areas' FROM s`); err != nil {
			t.Fatal(err)
		}
		select {
		case <-resets:
		case <-time.After(3 * time.Second):
			t.Fatal("no reset after a hole in the log")
		}
	})
}

// followFeed runs a change feed on db until ctx ends and answers it with its
// events and resets, once it is connected.
func followFeed(t *testing.T, ctx context.Context, db *data.DB) (*data.ChangeFeed, chan geo.ChangeEvent, chan struct{}) {
	t.Helper()
	feed := data.NewChangeFeed(db, nil)
	events := make(chan geo.ChangeEvent, 16)
	resets := make(chan struct{}, 16)
	feed.Subscribe(func(ev geo.ChangeEvent) { events <- ev }, func() { resets <- struct{}{} })
	go feed.Run(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := feed.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	return feed, events, resets
}
