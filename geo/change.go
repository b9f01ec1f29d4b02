package geo

import (
	"github.com/paulmach/orb"
)

// Layers a change can touch.
const (
	LayerAreas     = "areas"
	LayerBuildings = "buildings"
	LayerRoads     = "roads"
)

// ChangeEvent announces a committed change to every gridmap process (through
// the commit-ordered change_log, data.ChangeFeed). One change may be
// announced in several events (one per layer); each carries the change id,
// which is also the new data version.
type ChangeEvent struct {
	Change int64       `json:"change"`          // change id = data version after it
	Layer  string      `json:"layer"`           // LayerAreas, LayerBuildings or LayerRoads
	Areas  []int64     `json:"areas,omitempty"` // areas whose geometry, identity or people changed
	Bounds []orb.Bound `json:"-"`               // EPSG:4326 bounds of every old and new geometry touched
}

// ChangeFeed delivers ChangeEvents. Reset is called whenever events may have
// been missed (the feed's connection was lost and re-established): a
// subscriber must then drop or reload everything it derived from the data.
type ChangeFeed interface {
	Subscribe(onEvent func(ChangeEvent), onReset func())
}

// ReshapeRequest gives an area a new geometry (the reshape edit, for callers
// that need nothing else).
type ReshapeRequest struct {
	AreaID        int64
	BaseVersionID int64 // the version the edit was based on; 0 skips the check
	Geometry      orb.MultiPolygon
	Author        string
	Reason        string
}
