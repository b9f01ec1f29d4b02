package data

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/cases"
	"gridmap/geo"
)

// The jobs below keep their state in PostgreSQL (due times in case_report,
// the outbox in case_notification, feed positions in job_cursor) and claim
// their work with FOR UPDATE SKIP LOCKED, so any number of gridmap processes
// may run them at once: each case, notification or feed batch is worked on
// by exactly one of them, and a restart loses nothing. docs/cases.md explains
// the choice over a job queue library.

// escalationBatch is how many cases one sweep transaction escalates.
const escalationBatch = 200

// qEscalationCandidates selects running clocks past due that may escalate
// (the partial index case_escalation_idx), locking them; rows another
// sweeper holds are skipped, and a row it escalated meanwhile is re-checked
// against the WHERE clause on its new version (due moved on) and left out.
const qEscalationCandidates = `
SELECT id FROM case_report
WHERE state IN ('dispatched', 'in_progress', 'extension_requested') AND NOT paused AND tier < 4 AND due < $1
ORDER BY due
LIMIT $2
FOR UPDATE SKIP LOCKED`

// EscalateDue escalates every case whose step deadline has passed at now
// (cases.Machine.DueForEscalation: the grace and the calendar stay in Go) one
// tier up, routes it to the unit of the new tier, records an event by the
// system and queues a notification to the new unit. It returns how many cases
// it escalated.
func (s *CaseStore) EscalateDue(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, more, err := s.escalateBatch(ctx, now)
		total += n
		// n == 0 with a full batch: every candidate is still within the
		// grace period; the next tick looks again.
		if err != nil || !more || n == 0 {
			return total, err
		}
	}
}

func (s *CaseStore) escalateBatch(ctx context.Context, now time.Time) (int, bool, error) {
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return 0, false, dbErr("data.EscalateDue", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, qEscalationCandidates, now, escalationBatch)
	if err != nil {
		return 0, false, dbErr("data.EscalateDue", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, false, dbErr("data.EscalateDue", err)
	}
	m := s.Machine()
	n := 0
	for _, id := range ids {
		r, err := loadCase(ctx, tx, qCaseByID, id) // locked above
		if err != nil {
			return 0, false, err
		}
		mc := r.machineCase()
		if !m.DueForEscalation(mc, now) {
			continue // within the grace period
		}
		next, clk, ev, err := m.Transition(mc, cases.ActionEscalate, cases.Actor{Role: cases.RoleSystem, Name: "escalation"},
			cases.Input{Version: mc.Version}, now)
		if err != nil {
			s.log.Warn("escalation refused", "case", r.Code, "err", err)
			continue
		}
		read := r.Version
		fromUnit := r.UnitID
		apply(r, next, clk, ev, now, true)
		unit, err := s.route(ctx, tx, r.Path, cases.Tier(r.Tier), r.Category)
		if err != nil {
			return 0, false, err
		}
		if unit != 0 && (fromUnit == nil || *fromUnit != unit) {
			r.UnitID, r.Handler = &unit, nil
		}
		if err := save(ctx, tx, r, read, nil, now); err != nil {
			return 0, false, err
		}
		if err := insertEvent(ctx, tx, eventRow{CaseID: r.ID, Version: ev.Version, At: now, ActorKind: "system",
			ActorName: "escalation", ActorRole: string(cases.RoleSystem), Action: string(cases.ActionEscalate),
			From: string(ev.From), To: string(ev.To), Due: timePtr(ev.Due), Tier: int(ev.Tier), UnitID: r.UnitID,
			Detail: map[string]any{"from_tier": int(mc.Clock.Tier), "missed_due": mc.Clock.Due, "from_unit": fromUnit}}); err != nil {
			return 0, false, err
		}
		if r.UnitID != nil {
			if err := notify(ctx, tx, r, *r.UnitID, "escalated", now, map[string]any{"tier": r.Tier, "due": r.Due}); err != nil {
				return 0, false, err
			}
		}
		n++
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, dbErr("data.EscalateDue", err)
	}
	return n, len(ids) == escalationBatch, nil
}

// qLockCursor takes a job's feed position; another process holding it makes
// this one skip the round.
const qLockCursor = `SELECT position FROM job_cursor WHERE name = $1 FOR UPDATE SKIP LOCKED`
const qSetCursor = `UPDATE job_cursor SET position = $2 WHERE name = $1`

// qChangedAreas lists the change log after position $1 (up to $2 entries)
// with the areas their changes touched. The log's positions are handed out
// in commit order without gaps (migrations/010_change_log.sql), so a change
// that took its id earlier but committed later is still after the cursor;
// reading change ids ("id > last seen") missed such a change for good.
const qChangedAreas = `
SELECT l.seq, coalesce(array_agg(ca.area_id) FILTER (WHERE ca.area_id IS NOT NULL), '{}')
FROM change_log l LEFT JOIN change_area ca ON ca.change_id = l.change_id
WHERE l.seq > $1
GROUP BY l.seq ORDER BY l.seq LIMIT $2`

// qOpenCasesIn are the open cases whose grid is among the areas, locked for
// re-routing (index case_grid_open_idx). A point changes grid only if its
// grid's geometry changed (grids do not overlap: the new grid grew into the
// old one, which shrank), so the old grid is enough to find it.
const qOpenCasesIn = `
SELECT id FROM case_report
WHERE finished_at IS NULL AND grid_id = ANY($1::bigint[])
ORDER BY id
FOR UPDATE`

// RerouteAfterChanges reads the change log (change_log) after its cursor: for every open
// case routed into an area a change touched, the point is placed again by
// the border rule. A case not yet accepted (reported) follows the new grid
// and is routed again; an accepted one keeps its unit and handler and gets a
// boundary_changed event and a notification for the dispatcher. It returns
// how many cases it re-routed and how many it flagged.
func (s *CaseStore) RerouteAfterChanges(ctx context.Context) (rerouted, flagged int, err error) {
	now := s.now()
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return 0, 0, dbErr("data.RerouteAfterChanges", err)
	}
	defer tx.Rollback(ctx)
	var pos int64
	if err := tx.QueryRow(ctx, qLockCursor, "case_reroute").Scan(&pos); err != nil {
		if err == pgx.ErrNoRows {
			return 0, 0, nil // another process is at it
		}
		return 0, 0, dbErr("data.RerouteAfterChanges", err)
	}
	rows, err := tx.Query(ctx, qChangedAreas, pos, 500)
	if err != nil {
		return 0, 0, dbErr("data.RerouteAfterChanges", err)
	}
	var areas []int64
	last := pos
	var id int64
	var ids []int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &ids}, func() error {
		last = id
		areas = append(areas, ids...)
		return nil
	}); err != nil {
		return 0, 0, dbErr("data.RerouteAfterChanges", err)
	}
	if last == pos {
		return 0, 0, nil
	}
	if len(areas) > 0 {
		rows, err = tx.Query(ctx, qOpenCasesIn, areas)
		if err != nil {
			return 0, 0, dbErr("data.RerouteAfterChanges", err)
		}
		caseIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return 0, 0, dbErr("data.RerouteAfterChanges", err)
		}
		for _, cid := range caseIDs {
			moved, follow, err := s.rerouteOne(ctx, tx, cid, now)
			if err != nil {
				return 0, 0, err
			}
			if moved && follow {
				rerouted++
			} else if moved {
				flagged++
			}
		}
	}
	if _, err := tx.Exec(ctx, qSetCursor, "case_reroute", last); err != nil {
		return 0, 0, dbErr("data.RerouteAfterChanges", err)
	}
	return rerouted, flagged, dbErr("data.RerouteAfterChanges", tx.Commit(ctx))
}

func (s *CaseStore) rerouteOne(ctx context.Context, tx pgx.Tx, id int64, now time.Time) (moved, followed bool, err error) {
	r, err := loadCase(ctx, tx, qCaseByID, id)
	if err != nil {
		return false, false, err
	}
	pl, err := place(ctx, tx, [2]float64{r.Lon, r.Lat}, s.opt.Hierarchy)
	if geo.ErrorCode(err) == geo.EInvalid {
		pl = placement{} // the point is outside every area now: flag it
	} else if err != nil {
		return false, false, err
	}
	if r.GridID != nil && pl.Grid.ID == *r.GridID {
		return false, false, nil
	}
	oldGrid := gridCode(ctx, tx, r.GridID)
	detail := map[string]any{"from_grid": oldGrid, "to_grid": pl.Grid.Code, "ambiguous": pl.Ambiguous}
	if cases.State(r.State) == cases.StateReported && pl.Grid.ID != 0 {
		read := r.Version
		before := r.UnitID
		r.GridID, r.Path, r.Ambiguous = &pl.Grid.ID, pl.path(), pl.Ambiguous
		unit, err := s.route(ctx, tx, r.Path, cases.Tier(r.Tier), r.Category)
		if err != nil {
			return false, false, err
		}
		r.UnitID = nullID(unit)
		r.Version++
		if err := save(ctx, tx, r, read, nil, now); err != nil {
			return false, false, err
		}
		detail["from_unit"] = before
		if err := insertEvent(ctx, tx, eventRow{CaseID: r.ID, Version: r.Version, At: now, ActorKind: "system",
			ActorName: "reroute", ActorRole: string(cases.RoleSystem), Action: string(cases.EventReroute),
			From: r.State, To: r.State, Tier: r.Tier, UnitID: r.UnitID, Detail: detail}); err != nil {
			return false, false, err
		}
		if r.UnitID != nil {
			if err := notify(ctx, tx, r, *r.UnitID, "rerouted", now, nil); err != nil {
				return false, false, err
			}
		}
		return true, true, nil
	}
	if err := insertEvent(ctx, tx, eventRow{CaseID: r.ID, Version: r.Version, At: now, ActorKind: "system",
		ActorName: "reroute", ActorRole: string(cases.RoleSystem), Action: string(cases.EventBoundaryChange),
		From: r.State, To: r.State, Tier: r.Tier, UnitID: r.UnitID, Detail: detail,
		Note: fmt.Sprintf("边界调整：位置现属 %s（原 %s）；承办单位不变，请调度员确认", pl.Grid.Code, oldGrid)}); err != nil {
		return false, false, err
	}
	if r.UnitID != nil {
		if err := notify(ctx, tx, r, *r.UnitID, "boundary_changed", now, detail); err != nil {
			return false, false, err
		}
	}
	return true, false, nil
}

// qEraseContacts deletes reporters' phone numbers of cases that finished
// before $1 (now minus the retention) and have stayed finished.
const qEraseContacts = `
DELETE FROM case_contact k USING case_report c
WHERE c.id = k.case_id AND c.finished_at IS NOT NULL AND c.finished_at < $1`

// EraseContacts deletes the phone numbers of cases finished longer than the
// retention before now; it returns how many it deleted.
func (s *CaseStore) EraseContacts(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.db.Pool.Exec(ctx, qEraseContacts, now.Add(-s.opt.ContactRetention))
	if err != nil {
		return 0, dbErr("data.EraseContacts", err)
	}
	return int(tag.RowsAffected()), nil
}

// qClaimNotifications takes due, undelivered notifications.
const qClaimNotifications = `
SELECT n.id, n.case_id, coalesce(n.unit_id, 0), n.kind, n.payload, n.attempts, coalesce(u.webhook_url, '')
FROM case_notification n LEFT JOIN unit u ON u.id = n.unit_id
WHERE n.delivered_at IS NULL AND n.next_attempt_at <= $1 AND n.attempts < $2
ORDER BY n.next_attempt_at
LIMIT 50
FOR UPDATE OF n SKIP LOCKED`

const (
	qDelivered    = `UPDATE case_notification SET delivered_at = $2, attempts = attempts + 1, last_error = '' WHERE id = $1`
	qDeliveryFail = `UPDATE case_notification SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1`
)

// MaxNotificationAttempts is how often a notification is tried before it is
// left for an operator (last_error says why).
const MaxNotificationAttempts = 8

// DeliverNotifications sends due notifications through n, marking each
// delivered or scheduling a retry with exponential backoff (1 min, 2, 4, …).
// The rows stay locked while they are sent, so keep n's timeouts short.
func (s *CaseStore) DeliverNotifications(ctx context.Context, now time.Time, n cases.Notifier) (delivered, failed int, err error) {
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return 0, 0, dbErr("data.DeliverNotifications", err)
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, qClaimNotifications, now, MaxNotificationAttempts)
	if err != nil {
		return 0, 0, dbErr("data.DeliverNotifications", err)
	}
	var list []cases.Notification
	var x cases.Notification
	if _, err := pgx.ForEachRow(rows, []any{&x.ID, &x.CaseID, &x.UnitID, &x.Kind, &x.Payload, &x.Attempt, &x.WebhookURL}, func() error {
		x.Attempt++
		list = append(list, x)
		x = cases.Notification{}
		return nil
	}); err != nil {
		return 0, 0, dbErr("data.DeliverNotifications", err)
	}
	for _, nt := range list {
		if err := n.Notify(ctx, nt); err != nil {
			backoff := time.Minute << min(nt.Attempt-1, 10)
			if _, err2 := tx.Exec(ctx, qDeliveryFail, nt.ID, now.Add(backoff), err.Error()); err2 != nil {
				return 0, 0, dbErr("data.DeliverNotifications", err2)
			}
			failed++
			continue
		}
		if _, err := tx.Exec(ctx, qDelivered, nt.ID, now); err != nil {
			return 0, 0, dbErr("data.DeliverNotifications", err)
		}
		delivered++
	}
	return delivered, failed, dbErr("data.DeliverNotifications", tx.Commit(ctx))
}

// qPruneChangeLog deletes the log entries older than $1 that the re-route
// job has read (its cursor is at or past them).
const qPruneChangeLog = `
DELETE FROM change_log
WHERE logged_at < $1 AND seq <= (SELECT position FROM job_cursor WHERE name = 'case_reroute')`

// PruneChangeLog deletes change_log entries older than the retention
// (CaseOptions.ChangeLogRetention) at now that the re-route job has read, and
// returns how many. A process whose change feed is behind the pruning starts
// its feed again and rebuilds its caches (data.ChangeFeed). Any number of
// processes may run it at once.
func (s *CaseStore) PruneChangeLog(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.db.Pool.Exec(ctx, qPruneChangeLog, now.Add(-s.opt.ChangeLogRetention))
	if err != nil {
		return 0, dbErr("data.PruneChangeLog", err)
	}
	return int(tag.RowsAffected()), nil
}

// qPruneRequestKeys deletes the Idempotency-Keys claimed before $1.
const qPruneRequestKeys = `DELETE FROM request_key WHERE created_at < $1`

// PruneRequestKeys forgets the Idempotency-Keys older than the retention
// (CaseOptions.RequestKeyRetention) at now, and returns how many; a retry
// with one of them afterwards makes a new request. Any number of processes
// may run it at once (index request_key_created).
func (s *CaseStore) PruneRequestKeys(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.db.Pool.Exec(ctx, qPruneRequestKeys, now.Add(-s.opt.RequestKeyRetention))
	if err != nil {
		return 0, dbErr("data.PruneRequestKeys", err)
	}
	return int(tag.RowsAffected()), nil
}
