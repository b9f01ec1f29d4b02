package data

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/geo"
)

// HotlineColumns is the header a hotline (12345) export must have, in any
// order; crs, address and phone may be empty, crs defaults to wgs84.
var HotlineColumns = []string{"ticket", "received_at", "category", "lon", "lat", "crs", "address", "description", "phone"}

// ImportReport summarises a case import.
type CaseImportReport struct {
	Imported int           `json:"imported"`
	Skipped  int           `json:"skipped"` // tickets already imported
	Rejected []geo.Problem `json:"rejected"`
}

const qRefExists = `SELECT EXISTS (SELECT 1 FROM case_report WHERE external_ref = $1)`

// ImportHotlineCSV reads a hotline export (HotlineColumns; received_at as
// RFC 3339 or "2006-01-02 15:04:05" in China Standard Time) and takes in
// each row as a case of source hotline, received at its time, routed as any
// intake, each in its own transaction. Rows already imported (same ticket)
// are skipped, bad rows are reported by line and not imported.
func (s *CaseStore) ImportHotlineCSV(ctx context.Context, r io.Reader) (*CaseImportReport, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, geo.Errorf(geo.EInvalid, "the file has no header line: %v", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range HotlineColumns {
		if _, ok := col[c]; !ok {
			return nil, geo.Errorf(geo.EInvalid, "the header lacks column %q; it needs %s", c, strings.Join(HotlineColumns, ","))
		}
	}
	rep := &CaseImportReport{Rejected: []geo.Problem{}}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rep, nil
		}
		reject := func(format string, args ...any) {
			rep.Rejected = append(rep.Rejected, geo.Problem{Ref: "line " + strconv.Itoa(line), Reason: fmt.Sprintf(format, args...)})
		}
		if err != nil {
			reject("%v", err)
			continue
		}
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		ticket := get("ticket")
		if ticket == "" {
			reject("ticket is empty")
			continue
		}
		at, err := time.Parse(time.RFC3339, get("received_at"))
		if err != nil {
			if at, err = time.ParseInLocation("2006-01-02 15:04:05", get("received_at"), calendar.Shanghai()); err != nil {
				reject("received_at %q is not RFC 3339 or YYYY-MM-DD HH:MM:SS", get("received_at"))
				continue
			}
		}
		if at.After(s.now().Add(time.Hour)) {
			reject("received_at %s is in the future", at.Format(time.RFC3339))
			continue
		}
		lon, err1 := strconv.ParseFloat(get("lon"), 64)
		lat, err2 := strconv.ParseFloat(get("lat"), 64)
		if err1 != nil || err2 != nil {
			reject("lon and lat must be numbers, got %q, %q", get("lon"), get("lat"))
			continue
		}
		crs, err := geo.ParseCRS(get("crs"))
		if err != nil {
			reject("%s", geo.ErrorMessage(err))
			continue
		}
		if err := geo.ValidateLonLat(lon, lat); err != nil {
			reject("%s", geo.ErrorMessage(err))
			continue
		}
		var exists bool
		if err := s.db.Pool.QueryRow(ctx, qRefExists, ticket).Scan(&exists); err != nil {
			return rep, dbErr("data.ImportHotlineCSV", err)
		}
		if exists {
			rep.Skipped++
			continue
		}
		in := cases.Intake{Category: get("category"), Point: geo.ToWGS84(orb.Point{lon, lat}, crs), Address: get("address"),
			Description: get("description"), Phone: get("phone")}
		if _, err := s.intake(ctx, nil, in, imported{at: at, ref: ticket}); err != nil {
			if code := geo.ErrorCode(err); code == geo.EInternal || code == geo.EUnavailable || code == geo.ETimeout {
				return rep, err
			}
			reject("%s", geo.ErrorMessage(err))
			continue
		}
		rep.Imported++
	}
}
