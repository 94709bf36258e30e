package k8s

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/gxl-dev/gxl/core/value"
)

// objKey names one object of a cluster (ns "" for a cluster-scoped kind).
type objKey struct {
	gvr      schema.GroupVersionResource
	ns, name string
}

// objCache serves k8s.get and k8s.exists of an object this process reads
// again and again (gxl operate reads a Service on every probe, twice a
// second) from a watch of that object instead of a GET per read.
//
//   - The first read of an object is a GET. A second read within
//     watchAfter lists the object (a live read, which it returns) and
//     watches it from there: later reads return the watched object
//     (found or not) with no request.
//   - A watch that ends (the API server ends it after watchFor) or fails
//     (the API server restarted, the connection lost, its version
//     compacted) drops the object: the next read lists it again (live)
//     and watches it anew. A connection that goes silent (no FIN, no
//     RST: a partition, a frozen host) fails the HTTP/2 health check of
//     clientFor's transport within 10 s (pingAfter + pingTimeout), and
//     its watches with it: a watched object is never served longer than
//     that after its connection died. A watch no read used for watchIdle
//     ends.
//   - A list or watch that is refused (a Role granting get only) or
//     fails makes that read a GET, and the reads of that resource GETs
//     for refusedFor.
//   - Every write request of this process to the cluster (apply, patch,
//     delete, scale, rollback: any method but GET, HEAD and OPTIONS, seen
//     by the connection's transport) drops every watched object of the
//     cluster before it is sent and again once it is answered, and no
//     watch whose list began before the write is kept: a read after a
//     write of gxl's own is live, so it sees that write (failover
//     re-points a Service, then reads it).
//
// A write by another client reaches the watch within the watch's delay
// (milliseconds on a healthy API server).
type objCache struct {
	watches dynamic.Interface // the client of the watches: no request timeout

	mu      sync.Mutex
	epoch   uint64 // counts the writes begun and ended
	watched map[objKey]*watched
	seen    map[objKey]time.Time // last live read of each object
	refused map[objKey]time.Time // resources (no name) not listed or watched: when
	live    atomic.Int64         // live reads (GET or list), for tests
}

// watched is the state of a watched object.
type watched struct {
	val    value.Value
	found  bool
	cancel context.CancelFunc
	used   atomic.Int64 // unix nanoseconds of the last read
}

const (
	// watchAfter: a read within this long of the last live read of the
	// same object starts watching it. A one-off `gxl run` reads an
	// object once or twice; a probe every second reads it all the time.
	watchAfter = time.Minute
	// watchIdle: a watch no read has used for this long ends.
	watchIdle = 5 * time.Minute
	// watchFor: the API server ends a watch after this long; the next
	// read lists the object again and watches it anew.
	watchFor = 10 * time.Minute
	// refusedFor: after a list or watch of a resource was refused or
	// failed, its reads are GETs for this long.
	refusedFor = 10 * time.Minute
)

func newObjCache() *objCache {
	return &objCache{watched: map[objKey]*watched{}, seen: map[objKey]time.Time{}, refused: map[objKey]time.Time{}}
}

// read returns the object of key as a GXL value, or a NotFound error
// when it does not exist.
func (oc *objCache) read(ctx context.Context, r dynamic.ResourceInterface, key objKey) (value.Value, error) {
	oc.mu.Lock()
	if w, ok := oc.watched[key]; ok {
		w.used.Store(time.Now().UnixNano())
		val, found := w.val, w.found
		oc.mu.Unlock()
		if !found {
			return value.Value{}, apierrors.NewNotFound(key.gvr.GroupResource(), key.name)
		}
		return val, nil
	}
	last, again := oc.seen[key]
	again = again && time.Since(last) < watchAfter
	if t, ok := oc.refused[key.resource()]; ok && time.Since(t) < refusedFor {
		again = false
	}
	oc.seen[key] = time.Now()
	if len(oc.seen) > 1000 {
		for k, t := range oc.seen {
			if time.Since(t) >= watchAfter {
				delete(oc.seen, k)
			}
		}
	}
	epoch := oc.epoch
	oc.mu.Unlock()

	oc.live.Add(1)
	if !again {
		u, err := r.Get(ctx, key.name, metav1.GetOptions{})
		if err != nil {
			return value.Value{}, err
		}
		return toValue(u)
	}
	sel := fields.OneTermEqualSelector("metadata.name", key.name).String()
	list, err := r.List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		if ctx.Err() != nil {
			return value.Value{}, err
		}
		// Refused (a Role that grants get, not list and watch) or
		// failed: this read is a GET, as without the watches.
		oc.refuse(key)
		u, err := r.Get(ctx, key.name, metav1.GetOptions{})
		if err != nil {
			return value.Value{}, err
		}
		return toValue(u)
	}
	w := &watched{}
	if len(list.Items) > 0 {
		if w.val, err = toValue(&list.Items[0]); err != nil {
			return value.Value{}, err
		}
		w.found = true
	}
	// What the list read is this call's result: once follow runs, it
	// writes w under oc.mu, so w is not read here after that.
	val, found := w.val, w.found
	// The watch outlives the call (not its context).
	wctx, cancel := context.WithCancel(context.Background())
	var wr dynamic.ResourceInterface = oc.watches.Resource(key.gvr)
	if key.ns != "" {
		wr = oc.watches.Resource(key.gvr).Namespace(key.ns)
	}
	timeout := int64(watchFor / time.Second)
	stream, err := wr.Watch(wctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.GetResourceVersion(), AllowWatchBookmarks: true, TimeoutSeconds: &timeout})
	if err != nil {
		cancel()
		oc.refuse(key)
	} else {
		w.cancel = cancel
		w.used.Store(time.Now().UnixNano())
		oc.mu.Lock()
		_, taken := oc.watched[key]
		if taken || oc.epoch != epoch {
			// Another read watches it already, or a write of this
			// process began since the list: its result may predate it.
			oc.mu.Unlock()
			cancel()
			stream.Stop()
		} else {
			oc.watched[key] = w
			oc.mu.Unlock()
			go oc.follow(key, w, stream)
		}
	}
	if !found {
		return value.Value{}, apierrors.NewNotFound(key.gvr.GroupResource(), key.name)
	}
	return val, nil
}

// follow applies the events of a watch to its object until the watch
// ends, fails, is dropped or is left unused for watchIdle.
func (oc *objCache) follow(key objKey, w *watched, stream watch.Interface) {
	defer func() {
		stream.Stop()
		oc.drop(key, w)
	}()
	idle := time.NewTicker(watchIdle / 5)
	defer idle.Stop()
	events := stream.ResultChan()
	for {
		select {
		case <-idle.C:
			if time.Since(time.Unix(0, w.used.Load())) > watchIdle {
				return
			}
		case ev, ok := <-events:
			if !ok {
				return
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok {
					return
				}
				v, err := toValue(u)
				if err != nil {
					return
				}
				oc.mu.Lock()
				w.val, w.found = v, true
				oc.mu.Unlock()
			case watch.Deleted:
				oc.mu.Lock()
				w.val, w.found = value.Value{}, false
				oc.mu.Unlock()
			case watch.Bookmark:
			default: // watch.Error: the watch is over
				return
			}
		}
	}
}

// refuse notes that the objects of key's resource cannot be listed or
// watched: their reads are GETs for refusedFor.
func (oc *objCache) refuse(key objKey) {
	oc.mu.Lock()
	oc.refused[key.resource()] = time.Now()
	oc.mu.Unlock()
}

// resource is the kind and namespace of an object.
func (k objKey) resource() objKey { return objKey{gvr: k.gvr, ns: k.ns} }

// drop forgets a watched object (if it is still the one watched) and ends
// its watch.
func (oc *objCache) drop(key objKey, w *watched) {
	oc.mu.Lock()
	if oc.watched[key] == w {
		delete(oc.watched, key)
	}
	oc.mu.Unlock()
	w.cancel()
}

// written drops every watched object: a write of this process begins or
// has been answered.
func (oc *objCache) written() {
	oc.mu.Lock()
	oc.epoch++
	ws := oc.watched
	oc.watched = map[objKey]*watched{}
	oc.mu.Unlock()
	for _, w := range ws {
		w.cancel()
	}
}

// watching is how many objects are watched (tests).
func (oc *objCache) watching() int {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	return len(oc.watched)
}

// writes wraps the transport of a connection: a request that may change
// the cluster drops the watched objects before it is sent and after it
// is answered (or failed: it may have been applied anyway).
func (oc *objCache) writes(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return rt.RoundTrip(req)
		}
		oc.written()
		defer oc.written()
		return rt.RoundTrip(req)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
