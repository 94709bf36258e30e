package engine

import (
	"sync"
	"time"

	"github.com/gxl-dev/gxl/runtime"
	"github.com/gxl-dev/gxl/system/clusterstate"
)

// ClusterState says where the run journals kept in a Kubernetes API
// server are (WithClusterState; docs/operate.md "State in the cluster").
type ClusterState = clusterstate.Config

// stateRef is the run store an engine and its copies (a resumption's
// engine) share, made on first use.
type stateRef struct {
	once    sync.Once
	disk    bool // WithDiskState: the project's .gxl/runs, chosen
	cluster *ClusterState
	store   runtime.RunStore
	err     error
}

// WithRunStore keeps the engine's run journals in s instead of the
// project's .gxl/runs (runtime.FileStore): every run, resume, `gxl runs`
// and the operator's resumption and retention use it.
func WithRunStore(s runtime.RunStore) Option {
	return func(c *config) { c.state = &stateRef{store: s} }
}

// WithClusterState keeps the engine's run journals in the Kubernetes API
// server cfg names (ConfigMaps; system/clusterstate), so a gxl on another
// machine resumes an interrupted run: `gxl operate --state cluster`. The
// connection is made on first use; a failure is the error of that use.
func WithClusterState(cfg ClusterState) Option {
	return func(c *config) { c.state = &stateRef{cluster: &cfg} }
}

// WithDiskState keeps the engine's run journals in the project's
// .gxl/runs, the default, chosen explicitly: `gxl operate --ha --state
// disk` (replicas on one machine), where --ha alone keeps them in the
// API server of the lease.
func WithDiskState() Option {
	return func(c *config) { c.state = &stateRef{disk: true} }
}

// runStore is where the engine's run journals are kept.
func (e *Engine) runStore() (runtime.RunStore, error) {
	st := e.cfg.state
	if st == nil || st.disk {
		return &runtime.FileStore{Root: e.journalRoot(), Protect: e.protected()}, nil
	}
	st.once.Do(func() {
		if st.cluster != nil {
			st.store, st.err = clusterstate.New(*st.cluster)
		}
	})
	return st.store, st.err
}

// RunStoreWhere names where the engine's runs are kept: the folder
// .gxl/runs, or a namespace of an API server.
func (e *Engine) RunStoreWhere() string {
	s, err := e.runStore()
	if err != nil {
		return e.RunsDir()
	}
	return s.Where()
}

// awaitStaleLocks waits, at most the store's LockTTL and a second, for the
// locks of runs that look running but whose holder may be gone (a gxl
// killed on another machine renews its lock no more), and returns the
// runs read again. A store whose locks go with their holder (the file
// store) returns at once.
func (e *Engine) awaitStaleLocks(s runtime.RunStore, infos []runtime.RunInfo, wanted func(runtime.RunInfo) bool, stop <-chan struct{}) []runtime.RunInfo {
	ttl := s.LockTTL()
	if ttl <= 0 {
		return infos
	}
	deadline := time.Now().Add(ttl + time.Second)
	for i := range infos {
		for infos[i].Status == runtime.RunRunning && wanted(infos[i]) && time.Now().Before(deadline) {
			select {
			case <-stop:
				return infos
			case <-time.After(500 * time.Millisecond):
			}
			infos[i] = runtime.ReadRunInfoIn(s, infos[i].ID, e.now())
		}
	}
	return infos
}

// DefaultClusterLockTTL is how long the lock of a run kept in the cluster
// stays held without renewal (clusterstate.DefaultLockTTL).
const DefaultClusterLockTTL = clusterstate.DefaultLockTTL
