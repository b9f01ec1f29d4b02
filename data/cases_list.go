package data

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"gridmap/cases"
	"gridmap/geo"
)

// Worklist page sizes.
const (
	defaultCaseLimit = 50
	maxCaseLimit     = 500
)

func encodeCaseCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + strconv.FormatInt(id, 10)))
}

func decodeCaseCursor(s string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		at, id, ok := strings.Cut(string(b), ".")
		us, err1 := strconv.ParseInt(at, 10, 64)
		n, err2 := strconv.ParseInt(id, 10, 64)
		if ok && err1 == nil && err2 == nil {
			return time.UnixMicro(us), n, nil
		}
	}
	return time.Time{}, 0, geo.Errorf(geo.EInvalid, "cursor %q is not one this server gave out; start again without it", s)
}

// overdueAt is the overdue rule in SQL, over case_report c at the
// timestamptz now (a placeholder such as "$4"): an open case (finished_at is
// stamped by apply when the state is Finished) whose clock runs and whose
// deadline has passed; cases.Case.Overdue in Go, caseRow.dueOverdue on a row
// read. Every query that tests for overdue (the list's filter and order, the
// cases tiles, the statistics) takes it from here.
func overdueAt(now string) string {
	return "(c.finished_at IS NULL AND NOT c.paused AND c.due < " + now + ")"
}

// dueOrderKey is the worklist's "overdue first, then by deadline" key at the
// placeholder now: 0 for an overdue case (overdueAt), 1 otherwise; then the
// deadline (none: last); then the id.
func dueOrderKey(now string) string {
	return "(CASE WHEN " + overdueAt(now) + " THEN 0 ELSE 1 END), coalesce(c.due, 'infinity'::timestamptz), c.id"
}

// A due-order cursor: "d", then the last row's key: overdue flag (0 or 1),
// deadline (RFC 3339 with µs, or "infinity") and id, joined by "|".
func encodeDueCursor(overdue bool, due *time.Time, id int64) string {
	o, d := "1", "infinity"
	if overdue {
		o = "0"
	}
	if due != nil {
		d = due.UTC().Format(time.RFC3339Nano)
	}
	return base64.RawURLEncoding.EncodeToString([]byte("d|" + o + "|" + d + "|" + strconv.FormatInt(id, 10)))
}

// decodeDueCursor returns the key of a due-order cursor; the deadline as
// text for the query's ::text::timestamptz ("infinity" for none).
func decodeDueCursor(s string) (o int, due string, id int64, err error) {
	bad := geo.Errorf(geo.EInvalid, "cursor %q is not one this server gave out for order=due; start again without it", s)
	b, e := base64.RawURLEncoding.DecodeString(s)
	parts := strings.Split(string(b), "|")
	if e != nil || len(parts) != 4 || parts[0] != "d" || (parts[1] != "0" && parts[1] != "1") {
		return 0, "", 0, bad
	}
	if parts[2] != "infinity" {
		if _, e := time.Parse(time.RFC3339Nano, parts[2]); e != nil {
			return 0, "", 0, bad
		}
	}
	if id, e = strconv.ParseInt(parts[3], 10, 64); e != nil {
		return 0, "", 0, bad
	}
	return int(parts[1][0] - '0'), parts[2], id, nil
}

const qAreaIDByCode = `SELECT id FROM area WHERE code = $1`

// List returns a worklist for a staff account: cases at or below its scope
// area (and the area asked for), newest first, cursor-paginated on
// (reported_at, id); with Order OrderDue overdue first, then by deadline,
// paginated on dueOrderKey.
func (s *CaseStore) List(ctx context.Context, staff *cases.Staff, f cases.Filter) (*cases.Page, error) {
	if staff == nil {
		return nil, geo.Errorf(geo.EUnauthenticated, "sign in to list cases")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultCaseLimit
	}
	if limit > maxCaseLimit {
		return nil, geo.Errorf(geo.EInvalid, "limit may be at most %d, got %d", maxCaseLimit, limit)
	}
	now := s.now()
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, dbErr("data.List", err)
	}
	defer tx.Rollback(ctx)
	user, err := readActor(ctx, tx, staff)
	if err != nil {
		return nil, err
	}
	sq, counted, err := filterWhere(ctx, tx, user, f, now)
	if err != nil {
		return nil, err
	}
	arg := sq.arg
	var orderKey string
	switch f.Order {
	case cases.OrderReported:
	case cases.OrderDue:
		orderKey = dueOrderKey(arg(now))
	default:
		return nil, geo.Errorf(geo.EInvalid, "order must be \"due\" or absent (newest first), got %q", f.Order)
	}
	if f.Cursor != "" && orderKey != "" {
		o, due, id, err := decodeDueCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		sq.and("(" + orderKey + ") > (" + arg(o) + ", " + arg(due) + "::text::timestamptz, " + arg(id) + ")")
	} else if f.Cursor != "" {
		at, id, err := decodeCaseCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		sq.and("(c.reported_at, c.id) < (" + arg(at) + ", " + arg(id) + ")")
	}
	q := `SELECT ` + caseColumns + ` ` + caseFrom + sq.sql()
	switch {
	case orderKey != "":
		q += " ORDER BY " + orderKey + " LIMIT " + arg(limit+1)
	case strings.TrimSpace(f.Text) != "" && s.opt.SortedTextRows > 0:
		// A text filter whose other conditions (a dispatcher's scope, a
		// state) PostgreSQL expects to match few cases: read the text's
		// matches among them (a MATERIALIZED CTE: through a bitmap), sort
		// their ids and join the page's rows. Left to itself the planner
		// walked case_reported_idx, which for a dispatcher's common word on
		// the 全部 tab skipped 56,902 cases outside the scope or without the
		// word (EXPLAIN ANALYZE 0.3–0.8 s; this way 26–88 ms, where an
		// "ORDER BY reported_at + interval '0'" fence took 83–145 ms: a
		// parallel sort of the whole rows; BENCHMARKS.md "Dispatch desk").
		// With many cases besides the text (an admin's state tab: 48,000
		// dispatched) the walk finds its page early and stays (sorting them
		// all: 6 → 266–482 ms).
		others := f
		others.Text = ""
		w, _, err := filterWhere(ctx, tx, user, others, now)
		if err != nil {
			return nil, err
		}
		est, err := estimateRows(ctx, tx, w)
		if err != nil {
			return nil, err
		}
		if est <= float64(s.opt.SortedTextRows) {
			q = `WITH m AS MATERIALIZED (SELECT c.id, c.reported_at FROM case_report c` + sq.sql() + `),
k AS (SELECT id, reported_at FROM m ORDER BY reported_at DESC, id DESC LIMIT ` + arg(limit+1) + `)
SELECT ` + caseColumns + ` FROM k JOIN case_report c ON c.id = k.id` + caseJoins + `
ORDER BY c.reported_at DESC, c.id DESC`
		} else {
			q += " ORDER BY c.reported_at DESC, c.id DESC LIMIT " + arg(limit+1)
		}
	default:
		q += " ORDER BY c.reported_at DESC, c.id DESC LIMIT " + arg(limit+1)
	}
	rows, err := tx.Query(ctx, q, customPlan(sq.args)...)
	if err != nil {
		return nil, dbErr("data.List", err)
	}
	var list []*caseRow
	for rows.Next() {
		var r caseRow
		if err := rows.Scan(r.dest()...); err != nil {
			rows.Close()
			return nil, dbErr("data.List", err)
		}
		list = append(list, &r)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("data.List", err)
	}
	page := &cases.Page{Cases: []cases.Record{}}
	if len(list) > limit {
		last := list[limit-1]
		if orderKey != "" {
			page.Next = encodeDueCursor(last.dueOverdue(now), last.Due, last.ID)
		} else {
			page.Next = encodeCaseCursor(last.ReportedAt, last.ID)
		}
		list = list[:limit]
	}
	for _, r := range list {
		page.Cases = append(page.Cases, *s.baseRecord(r))
	}
	if f.Counts {
		// The cap is for a text's matches (ILIKE over every one of them);
		// counts of the other filters are exact: a subdistrict's default
		// view of 10,280 cases keeps its tabs' numbers.
		capAt := 0
		if f.Text != "" {
			capAt = s.opt.CountsCap
		}
		var over bool
		if page.Counts, over, err = countStates(ctx, tx, counted, capAt); err != nil {
			return nil, err
		}
		if over {
			page.CountsOver = s.opt.CountsCap
		}
	}
	return page, nil
}

// sqlWhere is a WHERE being built over case_report c: its conditions (ANDed)
// and their bound parameters, numbered after the ones it started with.
type sqlWhere struct {
	where []string
	args  []any
}

// arg binds v and returns its placeholder.
func (q *sqlWhere) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

func (q *sqlWhere) and(cond string) { q.where = append(q.where, cond) }

// sql is " WHERE …" (or "" with no conditions).
func (q *sqlWhere) sql() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}

// filterWhere is a Filter's WHERE for user at now, after the parameters args
// already holds: the account's scope, the area subtree, category, tier,
// text, overdue, open, assigned, bbox, dates and states (not the order or the
// cursor). counted is the same without the states (the tabs' counts). The
// list and the cases tiles share it: one reading of the filter.
func filterWhere(ctx context.Context, tx pgx.Tx, user geo.User, f cases.Filter, now time.Time, args ...any) (q, counted *sqlWhere, err error) {
	q = &sqlWhere{args: args}
	if user.Role != geo.UserAdmin && user.ScopeAreaID != 0 {
		q.and("c.area_path @> ARRAY[" + q.arg(user.ScopeAreaID) + "::bigint]")
	}
	if f.AreaCode != "" {
		var id int64
		if err := tx.QueryRow(ctx, qAreaIDByCode, f.AreaCode).Scan(&id); err != nil {
			if err == pgx.ErrNoRows {
				return nil, nil, geo.Errorf(geo.ENotFound, "no area with code %q", f.AreaCode)
			}
			return nil, nil, dbErr("data.List", err)
		}
		q.and("c.area_path @> ARRAY[" + q.arg(id) + "::bigint]")
	}
	if f.Category != "" {
		q.and("c.category = " + q.arg(f.Category))
	}
	if f.Tier != 0 {
		if !f.Tier.Valid() {
			return nil, nil, geo.Errorf(geo.EInvalid, "tier must be 1 to 4, got %d", f.Tier)
		}
		q.and("c.tier = " + q.arg(int(f.Tier)))
	}
	if text := strings.TrimSpace(f.Text); text != "" {
		if utf8.RuneCountInString(text) < cases.MinFilterText {
			return nil, nil, geo.Errorf(geo.EInvalid, "q must have at least %d characters, got %q", cases.MinFilterText, text)
		}
		// One trigram index per column (migration 019); a code typed with its
		// hyphen, or O for 0, matches through NormalizeTrackingCode.
		like := q.arg("%" + escapeLike(text) + "%")
		code := q.arg("%" + escapeLike(cases.NormalizeTrackingCode(text)) + "%")
		q.and("(c.description ILIKE " + like + " ESCAPE '\\' OR c.address ILIKE " + like + " ESCAPE '\\' OR c.tracking_code LIKE " + code + " ESCAPE '\\')")
	}
	if f.Overdue {
		q.and(overdueAt(q.arg(now)))
	}
	if f.Open {
		q.and("c.finished_at IS NULL") // stamped by apply when the state is Finished
	}
	if f.AssignedMe {
		me := q.arg(user.ID)
		q.and("(c.handler_user_id = " + me + " OR c.unit_id IN (SELECT unit_id FROM unit_member WHERE user_id = " + me + "))")
	}
	if f.Bound != nil {
		q.and(fmt.Sprintf("c.geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
			q.arg(f.Bound.Min[0]), q.arg(f.Bound.Min[1]), q.arg(f.Bound.Max[0]), q.arg(f.Bound.Max[1])))
	}
	if !f.From.IsZero() {
		q.and("c.reported_at >= " + q.arg(f.From))
	}
	if !f.To.IsZero() {
		q.and("c.reported_at < " + q.arg(f.To))
	}
	// The filter without its states: the counts' WHERE; the states follow.
	counted = &sqlWhere{where: append([]string(nil), q.where...), args: append([]any(nil), q.args...)}
	if len(f.States) > 0 {
		ss := make([]string, len(f.States))
		for i, st := range f.States {
			if !validState(st) {
				return nil, nil, geo.Errorf(geo.EInvalid, "unknown status %q", st)
			}
			ss[i] = string(st)
		}
		// One state (a desk tab) as an equality, so that the planner can walk
		// case_state_reported_idx in the list's order: with = ANY it walked
		// case_reported_idx and, a large state's cases being old, skipped
		// 416,000 newer ones for a dispatcher's 已办结 (10.9 s at 1,000,000
		// cases; 0.5 s this way, cold; BENCHMARKS.md "Dispatch desk").
		if len(ss) == 1 {
			q.and("c.state = " + q.arg(ss[0]))
		} else {
			q.and("c.state = ANY(" + q.arg(ss) + "::text[])")
		}
	}
	return q, counted, nil
}

// customPlan runs a filtered list's query unprepared, so that PostgreSQL
// plans it for these values: pgx's statement cache would prepare it, and
// after five runs PostgreSQL may keep a generic plan that cannot see the
// text's pattern (a two-character word has no trigram: the generic plan read
// the trigram indexes whole, 1,000,000 rows each, 0.5 s where the plan for
// the values takes 30 ms; BENCHMARKS.md "Dispatch desk").
func customPlan(args []any) []any {
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// DefaultCountsCap is how many matching cases the counts per state read at
// most (CaseOptions.CountsCap; BENCHMARKS.md "Dispatch desk": the
// measurement that chose it).
const DefaultCountsCap = 10_000

// countStates counts the cases per state that match w (List's filter
// without its states, over case_report c); capAt 0: exactly, one GROUP BY
// over all of them (the filters without text). When PostgreSQL expects no more
// than capAt matches (EXPLAIN's row estimate of the filter: a scope, a
// category, a rare word), one GROUP BY over all of them, exact whatever
// their number. Otherwise it reads at most capAt+1 matches, in whatever
// order the scan finds them: exact when that is all of them, else no counts
// and over true (the desk then says "over 10,000" and no count per state)
// rather than counting every match (an unscoped admin's 井盖: 100,000 ILIKE
// matches, 410 ms at 1,000,000 cases on a quiet machine). Counts are exact
// or absent, never estimated. States with none are left out. The estimate
// picks the plan: a LIMIT without an order makes a scoped account's count
// a walk of the whole table (a dispatcher's 10,280 cases: 32 → 146 ms).
func countStates(ctx context.Context, tx pgx.Tx, w *sqlWhere, capAt int) (counts map[cases.State]int, over bool, err error) {
	capped := false
	if capAt > 0 {
		est, err := estimateRows(ctx, tx, w)
		if err != nil {
			return nil, false, err
		}
		capped = est > float64(capAt)
	}
	q := &sqlWhere{where: w.where, args: append([]any(nil), w.args...)}
	sql := "SELECT c.state, count(*) FROM case_report c" + q.sql() + " GROUP BY c.state"
	if capped {
		sql = "SELECT m.state, count(*) FROM (SELECT c.state FROM case_report c" + q.sql() + " LIMIT " + q.arg(capAt+1) + ") m GROUP BY m.state"
	}
	rows, err := tx.Query(ctx, sql, customPlan(q.args)...)
	if err != nil {
		return nil, false, dbErr("data.List", err)
	}
	counts = map[cases.State]int{}
	var st string
	var n, total int
	if _, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error { counts[cases.State(st)] = n; total += n; return nil }); err != nil {
		return nil, false, dbErr("data.List", err)
	}
	if capped && total > capAt {
		return nil, true, nil
	}
	return counts, false, nil
}

// DefaultSortedTextRows is how many cases PostgreSQL may expect a filter
// with text to match without its text for List to read the text's matches
// among them and sort them rather than walk the newest-first index
// (CaseOptions.SortedTextRows; BENCHMARKS.md "Dispatch desk": the
// measurement).
const DefaultSortedTextRows = 20_000

// estimateRows is PostgreSQL's estimate (EXPLAIN, planned for these
// values) of how many cases match w over case_report c.
func estimateRows(ctx context.Context, tx pgx.Tx, w *sqlWhere) (float64, error) {
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := tx.QueryRow(ctx, "EXPLAIN (FORMAT JSON) SELECT FROM case_report c"+w.sql(), customPlan(w.args)...).Scan(&plan); err != nil {
		return 0, dbErr("data.List", err)
	}
	if len(plan) != 1 {
		return 0, geo.Errorf(geo.EInternal, "EXPLAIN gave %d plans", len(plan))
	}
	return plan[0].Plan.Rows, nil
}

// dueOverdue is overdueAt's test on a row read at now.
func (r *caseRow) dueOverdue(now time.Time) bool {
	return r.FinishedAt == nil && !r.Paused && r.Due != nil && r.Due.Before(now)
}

func validState(st cases.State) bool {
	for _, x := range cases.States {
		if x == st {
			return true
		}
	}
	return false
}

// qCaseStats counts an area's cases reported in [$2, $3) per child area (the
// element after $1 in the chain) and in total (GROUPING 1). Open overdue is
// at $4 (overdueAt).
var qCaseStats = `
WITH c AS (
    SELECT c.*, c.area_path[array_position(c.area_path, $1::bigint) + 1] AS child
    FROM case_report c
    WHERE c.area_path @> ARRAY[$1::bigint] AND c.reported_at >= $2 AND c.reported_at < $3)
SELECT GROUPING(child), coalesce(child, 0), count(*), count(accepted_at), count(closed_at),
  count(*) FILTER (WHERE closed_at IS NOT NULL AND closed_on_time),
  count(*) FILTER (WHERE ` + overdueAt("$4") + `),
  count(responded_at), count(rating), count(*) FILTER (WHERE rating >= 4),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - reported_at)) FILTER (WHERE closed_at IS NOT NULL)
FROM c GROUP BY GROUPING SETS ((child), ())`

// qCaseWeeks counts an area's ($1) cases received and closed in [$3, $4)
// per week, $2 being the weeks' starts in order (calendar.Weeks): an event
// falls in the week width_bucket finds for it.
const qCaseWeeks = `
WITH c AS (
    SELECT reported_at, closed_at FROM case_report
    WHERE area_path @> ARRAY[$1::bigint]
      AND ((reported_at >= $3 AND reported_at < $4) OR (closed_at >= $3 AND closed_at < $4))),
e AS (
    SELECT width_bucket(reported_at, $2::timestamptz[]) AS w, 1 AS received, 0 AS closed FROM c WHERE reported_at >= $3 AND reported_at < $4
    UNION ALL
    SELECT width_bucket(closed_at, $2::timestamptz[]), 0, 1 FROM c WHERE closed_at >= $3 AND closed_at < $4)
SELECT i, coalesce(sum(e.received), 0)::int, coalesce(sum(e.closed), 0)::int
FROM generate_subscripts($2::timestamptz[], 1) AS i LEFT JOIN e ON e.w = i
GROUP BY i ORDER BY i`

// Stats computes the 三率 of an area's cases reported in [from, to), with
// each child area's: on-time rate = closed on time ÷ (closed + open and
// overdue); response rate = responded ÷ received; resolution rate = closed ÷
// accepted; satisfaction = ratings of 4 or 5 ÷ ratings. Rates are null when
// their denominator is 0. Without from and to (both zero) the period is
// cases.DefaultStatsPeriod on the store's clock; the answer names its
// period in China's days (FromDate, ToDate) and the store's today.
func (s *CaseStore) Stats(ctx context.Context, staff *cases.Staff, areaCode string, from, to time.Time) (*cases.AreaStats, error) {
	if staff == nil {
		return nil, geo.Errorf(geo.EUnauthenticated, "sign in to read case statistics")
	}
	cal := s.Machine().Calendar
	now := s.now()
	switch {
	case from.IsZero() && to.IsZero():
		from, to = cases.DefaultStatsPeriod(cal, now)
	case from.IsZero() || to.IsZero():
		return nil, geo.Errorf(geo.EInvalid, "give both from and to (e.g. from=2026-01-01&to=2026-03-31), or neither for the last %d weeks", cases.DefaultStatsWeeks)
	case !to.After(from):
		return nil, geo.Errorf(geo.EInvalid, "to (%s) must be after from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	fromDate, toDate := cal.DateOf(from).String(), cal.DateOf(to.Add(-time.Nanosecond)).String()
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, dbErr("data.Stats", err)
	}
	defer tx.Rollback(ctx)
	user, err := readActor(ctx, tx, staff)
	if err != nil {
		return nil, err
	}
	var areaID int64
	if err := tx.QueryRow(ctx, qAreaIDByCode, areaCode).Scan(&areaID); err != nil {
		if err == pgx.ErrNoRows {
			return nil, geo.Errorf(geo.ENotFound, "no area with code %q", areaCode)
		}
		return nil, dbErr("data.Stats", err)
	}
	rows, err := tx.Query(ctx, qChain, areaID)
	if err != nil {
		return nil, dbErr("data.Stats", err)
	}
	var chain []geo.AreaRef
	var a geo.AreaRef
	if _, err := pgx.ForEachRow(rows, []any{&a.ID, &a.Level, &a.Code, &a.Name}, func() error { chain = append(chain, a); return nil }); err != nil {
		return nil, dbErr("data.Stats", err)
	}
	ids := make([]int64, len(chain))
	for i, c := range chain {
		ids[i] = c.ID
	}
	if user.Role != geo.UserAdmin && user.ScopeAreaID != 0 && !containsID(ids, user.ScopeAreaID) {
		return nil, geo.Errorf(geo.EForbidden, "area %s lies outside your area", areaCode)
	}
	out := &cases.AreaStats{Area: chain[len(chain)-1], From: from, To: to, Children: []cases.AreaStats{}}
	rows, err = tx.Query(ctx, qCaseStats, areaID, from, to, now)
	if err != nil {
		return nil, dbErr("data.Stats", err)
	}
	var children []int64
	byChild := map[int64]*cases.AreaStats{}
	for rows.Next() {
		var grouping int
		var child int64
		var st cases.AreaStats
		var responded, ratings, satisfied int
		var median *float64
		if err := rows.Scan(&grouping, &child, &st.Received, &st.Accepted, &st.Closed, &st.ClosedOnTime, &st.OpenOverdue,
			&responded, &ratings, &satisfied, &median); err != nil {
			rows.Close()
			return nil, dbErr("data.Stats", err)
		}
		st.From, st.To, st.FromDate, st.ToDate = from, to, fromDate, toDate
		st.FewCases = st.Closed+st.OpenOverdue < cases.MinRateCases
		st.OnTimeRate = ratio(st.ClosedOnTime, st.Closed+st.OpenOverdue)
		st.ResponseRate = ratio(responded, st.Received)
		st.ResolutionRate = ratio(st.Closed, st.Accepted)
		st.Satisfaction = ratio(satisfied, ratings)
		if median != nil {
			h := *median / 3600
			st.MedianCloseH = &h
		}
		if grouping == 1 {
			st.Area, st.Children = out.Area, out.Children
			*out = st
		} else if child != 0 {
			c := st
			byChild[child] = &c
			children = append(children, child)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("data.Stats", err)
	}
	if len(children) > 0 {
		refs, err := areaRefs(ctx, tx, children)
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			c := byChild[ref.ID]
			c.Area = ref
			out.Children = append(out.Children, *c)
		}
		sort.Slice(out.Children, func(i, j int) bool { return out.Children[i].Area.Code < out.Children[j].Area.Code })
	}
	out.MinRateCases = cases.MinRateCases
	out.From, out.To, out.FromDate, out.ToDate, out.Today = from, to, fromDate, toDate, cal.DateOf(now).String()
	if weeks := cal.Weeks(from, to); len(weeks) <= cases.MaxStatsWeeks {
		if out.Weeks, err = caseWeeks(ctx, tx, areaID, weeks, from, to); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// caseWeeks runs qCaseWeeks: one WeekCount per start in weeks.
func caseWeeks(ctx context.Context, tx pgx.Tx, areaID int64, weeks []time.Time, from, to time.Time) ([]cases.WeekCount, error) {
	rows, err := tx.Query(ctx, qCaseWeeks, areaID, weeks, from, to)
	if err != nil {
		return nil, dbErr("data.Stats", err)
	}
	out := make([]cases.WeekCount, 0, len(weeks))
	var i int
	var w cases.WeekCount
	if _, err := pgx.ForEachRow(rows, []any{&i, &w.Received, &w.Closed}, func() error {
		w.Start = weeks[i-1]
		out = append(out, w)
		return nil
	}); err != nil {
		return nil, dbErr("data.Stats", err)
	}
	return out, nil
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}
