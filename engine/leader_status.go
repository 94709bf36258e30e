package engine

import "time"

// LeaderStatus is the leader of an operator started with --ha, as /status
// reports it on every replica: who leads, whether this replica is the
// leader, and since when this replica has known that leader.
type LeaderStatus struct {
	Identity string    `json:"identity"`
	Self     bool      `json:"self"`
	Since    time.Time `json:"since"`
}
