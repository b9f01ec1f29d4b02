package data

import (
	"context"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/cases"
	"gridmap/geo"
)

var _ cases.Follower = (*CaseStore)(nil)

// qNearby lists open cases within $3 metres of a point reported since $4,
// of category $5 when it is not empty: what anyone may see before reporting.
// It selects no tracking code, description, address or contact; the summary
// is the staff's last public note. The bounding box ($6, $7 degrees) lets the
// GiST index on geom narrow the search before the geodesic distance.
const qNearby = `
SELECT c.follow_key::text, c.category, c.state, to_char(c.reported_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
  ST_Distance(c.geom::geography, p.p::geography),
  coalesce((SELECT e.public_note FROM case_event e WHERE e.case_id = c.id AND e.public_note <> '' ORDER BY e.id DESC LIMIT 1), '')
FROM (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS p) p
JOIN case_report c ON c.finished_at IS NULL AND c.merged_into IS NULL AND c.reported_at >= $4 AND ($5 = '' OR c.category = $5)
  AND c.geom && ST_MakeEnvelope($1 - $7, $2 - $6, $1 + $7, $2 + $6, 4326)
  AND ST_DWithin(c.geom::geography, p.p::geography, $3)
ORDER BY 5, c.reported_at DESC
LIMIT 10`

// Nearby lists the open cases near p that a resident about to report may
// already be looking at ("这里已有人反映过…"), nearest first, at most 10.
func (s *CaseStore) Nearby(ctx context.Context, category string, p orb.Point) ([]cases.NearbyCase, error) {
	if err := geo.ValidateLonLat(p[0], p[1]); err != nil {
		return nil, err
	}
	if category != "" {
		if _, ok := s.opt.Catalogue.Category(category); !ok {
			return nil, geo.Errorf(geo.EInvalid, "unknown category %q; GET /api/v1/cases/categories lists them", category)
		}
	}
	dLat := cases.NearbyRadiusM / 111_000 * 1.2
	dLon := dLat / math.Max(math.Cos(p[1]*math.Pi/180), 0.01)
	since := s.now().Add(-duplicateWindow)
	rows, err := s.db.Pool.Query(ctx, qNearby, p[0], p[1], cases.NearbyRadiusM, since, category, dLat, dLon)
	if err != nil {
		return nil, dbErr("data.Nearby", err)
	}
	out := []cases.NearbyCase{}
	var n cases.NearbyCase
	var state string
	_, err = pgx.ForEachRow(rows, []any{&n.Follow, &n.Category, &state, &n.ReportedOn, &n.AboutM, &n.Summary}, func() error {
		n.State = cases.State(state)
		n.AboutM = math.Round(n.AboutM/10) * 10
		n.CategoryZh, n.CategoryEn = "", ""
		if c, ok := s.opt.Catalogue.Category(n.Category); ok {
			n.CategoryZh, n.CategoryEn = c.Zh, c.En
		}
		out = append(out, n)
		return nil
	})
	return out, dbErr("data.Nearby", err)
}

const qCaseIDByFollowKey = `SELECT id FROM case_report WHERE follow_key = $1`

// Followed is the public view of a case by its follow key (a merged case:
// the one it was merged into), without the tracking code: a follower sees
// the status and may not rate or reopen.
func (s *CaseStore) Followed(ctx context.Context, key string) (*cases.PublicCase, error) {
	k, ok := followKey(key)
	if !ok {
		return nil, geo.Errorf(geo.EInvalid, "a follow key is a UUID (36 characters: hex digits and four hyphens), got %q", key)
	}
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, dbErr("data.Followed", err)
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, qCaseIDByFollowKey, k).Scan(&id); err != nil {
		if err == pgx.ErrNoRows {
			return nil, geo.Errorf(geo.ENotFound, "no case has follow key %s", k)
		}
		return nil, dbErr("data.Followed", err)
	}
	r, err := loadCase(ctx, tx, qCaseByID, id)
	for i := 0; err == nil && r.MergedInto != nil && i < 32; i++ {
		r, err = loadCase(ctx, tx, qCaseByID, *r.MergedInto)
	}
	if err != nil {
		return nil, err
	}
	p, err := publicCase(ctx, tx, r, s.opt.Catalogue)
	if err != nil {
		return nil, err
	}
	p.TrackingCode, p.MergedInto = "", ""
	return p, nil
}

// followKey checks the form of a follow key (a UUID as PostgreSQL prints it)
// and returns it in lower case.
func followKey(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	s = strings.ToLower(s)
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return "", false
			}
		}
	}
	return s, true
}
