// Package drill is the report of the failover drills (cmd/gxl
// TestFailoverDrills writes it to the file GXL_DRILL_REPORT names; make
// bench rows 10, bench/cmd/gxlbench, read it): one type on both sides.
package drill

// Result is one drill of TestFailoverDrills, as written to
// GXL_DRILL_REPORT (bench/cmd/gxlbench reads it: rows 10).
type Result struct {
	Kind string `json:"kind"` // postgresql or redis
	// From the SIGKILL of the primary: the standby (replica) answers as
	// a primary, it accepts a write (COMMIT, SET), a write on it is
	// acknowledged as replicated (a COMMIT a synchronous standby flushed;
	// a SET that WAIT 1 confirmed: after the old primary rejoined), the
	// Service names it, the failover's start alert reached the receiver.
	PromotedMS int64 `json:"promoted_ms"`
	WritableMS int64 `json:"writable_ms"`
	AckedMS    int64 `json:"acked_ms"`
	ServiceMS  int64 `json:"service_ms"`
	AlertMS    int64 `json:"alert_ms"`
	// The writer's acknowledged writes before the end of this drill, and
	// how many of them the new primary does not have.
	Acked int `json:"acked"`
	Lost  int `json:"lost"`
	// Promotions: PostgreSQL timelines (+1 per failover), replicas the
	// Sentinels promoted (+promoted-slave in their logs).
	Promotions int `json:"promotions"`
	// Asked (Redis): the SENTINEL FAILOVER commands the Sentinels carried
	// out during the drill and did not abort — gxl's decision; 0 when
	// they failed over on their own.
	Asked int `json:"asked,omitempty"`
	// Aborted (Redis): failovers the Sentinels aborted (gxl asks again).
	Aborted int `json:"aborted,omitempty"`
}

// Report is the file GXL_DRILL_REPORT names.
type Report struct {
	WindowSeconds int      `json:"window_seconds"`
	Drills        []Result `json:"drills"`
}
