package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/gxl-dev/gxl/core/diag"
	"github.com/gxl-dev/gxl/core/fsguard"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// IncidentDir is where the open incidents of a system (or project) are
// kept, under its root: one file per open incident.
const IncidentDir = ".gxl/incidents"

func registerIncident(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name: "notify.incident",
		Doc: "Open or resolve a named incident kept across runs (a file per open incident in the system's .gxl/incidents): " +
			"changed says whether this call opened or resolved it, so a failing check alerts once and its recovery once.",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: []builtin.Param{
			{Name: "key", Type: types.String, Required: true, Positional: true, Doc: "the incident's name: letters, digits, _ . - (health_check, backup.pg)"},
			{Name: "state", Type: types.String, Required: true, Enum: []string{"open", "resolved"}, Doc: "open: the problem is there; resolved: it is gone"},
			{Name: "summary", Type: types.String, Doc: "what is wrong, kept with an incident this call opens (secrets masked)"},
			{Name: "dir", Type: types.String, Doc: "folder of the incident files (default: <system root>/.gxl/incidents, else <project root>/.gxl/incidents)"},
			{Name: "out", Type: types.String, Default: value.Str("INCIDENT"), Doc: "variable set to {key, open, changed, id, since, summary}: id (the key and the time it opened) is the incident's dedup key"},
		},
		SetsVars: builtin.OutVar("INCIDENT"),
		Run:      runIncident,
	})
}

var keyRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$`)

// incident is the file of an open incident.
type incident struct {
	Key     string `json:"key"`
	ID      string `json:"id"`
	Since   string `json:"since"`
	Summary string `json:"summary,omitempty"`
}

func runIncident(c builtin.Ctx, a builtin.Args) error {
	key := a.Str("key")
	if !keyRe.MatchString(key) {
		return diag.Errorf(c.Site(), "bad-incident-key", "notify.incident: key %q is not a name", c.Mask(key)).
			WithHint("use letters, digits, _ . and - (at most 100), e.g. \"health_check\"")
	}
	dir := a.Str("dir")
	switch {
	case dir == "":
		dir = filepath.Join(stateRoot(c), filepath.FromSlash(IncidentDir))
	case !filepath.IsAbs(dir):
		dir = filepath.Join(c.Dir(), dir)
	}
	file := filepath.Join(dir, key+".json")
	var (
		inc     incident
		open    bool
		changed bool
		err     error
	)
	if a.Str("state") == "open" {
		inc, changed, err = openIncident(dir, file, incident{Key: key, Summary: c.Mask(a.Str("summary"))})
		open = true
	} else {
		inc, changed, err = resolveIncident(file)
	}
	if err != nil {
		return fmt.Errorf("notify.incident %s: %w", key, err)
	}
	o := value.NewObject()
	o.Set("key", value.Str(key))
	o.Set("open", value.Bool(open))
	o.Set("changed", value.Bool(changed))
	o.Set("id", value.Str(inc.ID))
	o.Set("since", value.Str(inc.Since))
	o.Set("summary", value.Str(inc.Summary))
	c.Set(a.Str("out"), value.Obj(o))
	switch {
	case changed && open:
		c.Logf("notify.incident %s: opened (%s)", key, inc.ID)
	case changed:
		c.Logf("notify.incident %s: resolved (%s, open since %s)", key, inc.ID, inc.Since)
	case open:
		c.Logf("notify.incident %s: still open since %s", key, inc.Since)
	}
	return nil
}

// stateRoot is the folder whose .gxl holds the state of a run: the
// system root of a system workflow (and of its modules' stages), else the
// project root of the working directory, else the working directory.
func stateRoot(c builtin.Ctx) string {
	if r := c.Host().SysRoot; r != "" {
		return r
	}
	if r, ok := fsguard.ProjectRoot(c.Dir()); ok {
		return r
	}
	return c.Dir()
}

// openIncident creates file for inc unless it exists; the file appears
// whole or not at all (written aside, then linked), so of two calls at the
// same time exactly one opens the incident.
func openIncident(dir, file string, inc incident) (incident, bool, error) {
	if old, err := readIncident(file); err == nil {
		return old, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return incident{}, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return incident{}, false, err
	}
	now := time.Now().UTC()
	inc.ID = inc.Key + "-" + now.Format("20060102T150405Z")
	inc.Since = now.Format(time.RFC3339)
	b, _ := json.Marshal(inc)
	tmp, err := os.CreateTemp(dir, ".open-*")
	if err != nil {
		return incident{}, false, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return incident{}, false, err
	}
	if err := tmp.Close(); err != nil {
		return incident{}, false, err
	}
	if err := os.Link(tmp.Name(), file); err != nil {
		if errors.Is(err, fs.ErrExist) {
			old, rerr := readIncident(file)
			return old, false, rerr
		}
		return incident{}, false, err
	}
	return inc, true, nil
}

// resolveIncident removes file; changed only for the call that removed it.
func resolveIncident(file string) (incident, bool, error) {
	inc, err := readIncident(file)
	if errors.Is(err, fs.ErrNotExist) {
		return incident{}, false, nil
	}
	if err != nil {
		return incident{}, false, err
	}
	if err := os.Remove(file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return incident{}, false, nil
		}
		return incident{}, false, err
	}
	return inc, true, nil
}

func readIncident(file string) (incident, error) {
	var inc incident
	b, err := os.ReadFile(file)
	if err != nil {
		return inc, err
	}
	if err := json.Unmarshal(b, &inc); err != nil {
		return inc, fmt.Errorf("%s: %w", file, err)
	}
	return inc, nil
}
