package notify

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

// PagerDutyURL is the Events API v2 endpoint.
const PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

func registerPagerDuty(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name: "notify.pagerduty", Doc: "Send a PagerDuty Events API v2 event: trigger an incident, or acknowledge/resolve it by its dedup key; retried; a failed delivery is a warning, never a failed step. An empty key sends nothing.",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: append([]builtin.Param{
			{Name: "key", Type: types.String, Required: true, Doc: "the integration's routing key (a secret: pass a secret variable; never printed); empty: nothing is sent"},
			{Name: "action", Type: types.String, Default: value.Str("trigger"), Enum: []string{"trigger", "acknowledge", "resolve"}, Doc: "event_action"},
			{Name: "dedup_key", Type: types.String, Doc: "the incident's key: a trigger with the key of an open incident adds to it, a resolve closes it (required for acknowledge and resolve)"},
			{Name: "summary", Type: types.String, Positional: true, Doc: "what is wrong (required for trigger; at most 1024 characters are sent; secrets of the run masked)"},
			{Name: "severity", Type: types.String, Default: value.Str("error"), Enum: []string{"critical", "error", "warning", "info"}, Doc: "payload.severity"},
			{Name: "source", Type: types.String, Doc: "payload.source: the affected system or host (default: this host's name)"},
			{Name: "component", Type: types.String, Doc: "payload.component"},
			{Name: "group", Type: types.String, Doc: "payload.group"},
			{Name: "class", Type: types.String, Doc: "payload.class"},
			{Name: "details", Type: types.Object, Doc: "payload.custom_details"},
			{Name: "url", Type: types.String, Default: value.Str(PagerDutyURL), Doc: "the Events API endpoint"},
		}, deliveryParams()...),
		SetsVars: builtin.OutVar("NOTIFY"),
		Run:      runPagerDuty,
	})
}

func runPagerDuty(c builtin.Ctx, a builtin.Args) error {
	key, url, action := a.Str("key"), a.Str("url"), a.Str("action")
	d := newDelivery(c, a, "notify.pagerduty", Redact(url), append(urlSecrets(url), key)...)
	dedup := c.Mask(a.Str("dedup_key"))
	d.extra["dedup_key"] = value.Str(dedup)
	what := action
	if dedup != "" {
		what += " " + dedup
	}
	if key == "" {
		return d.skip("no routing key")
	}
	ev := value.NewObject()
	ev.Set("routing_key", value.Str(key))
	ev.Set("event_action", value.Str(action))
	if dedup != "" {
		ev.Set("dedup_key", value.Str(dedup))
	}
	var bad error
	switch {
	case action != "trigger" && dedup == "":
		bad = errors.New(action + " needs the dedup_key of the incident")
	case action == "trigger" && a.Str("summary") == "":
		bad = errors.New("a trigger needs a summary")
	case action == "trigger":
		ev.Set("payload", payload(c, a))
	}
	return d.run(what, func(ctx context.Context) error {
		if bad != nil {
			return retry.Permanent(bad)
		}
		ans, err := postJSON(ctx, url, value.Obj(ev))
		if err != nil {
			return err
		}
		var r struct {
			DedupKey string `json:"dedup_key"`
		}
		if json.Unmarshal(ans, &r) == nil && r.DedupKey != "" {
			d.extra["dedup_key"] = value.Str(r.DedupKey)
		}
		return nil
	})
}

// payload is a trigger's payload object.
func payload(c builtin.Ctx, a builtin.Args) value.Value {
	p := value.NewObject()
	summary := []rune(c.Mask(a.Str("summary")))
	if len(summary) > 1024 {
		summary = summary[:1024]
	}
	p.Set("summary", value.Str(string(summary)))
	src := a.Str("source")
	if src == "" {
		src, _ = os.Hostname()
	}
	if src == "" {
		src = "gxl"
	}
	p.Set("source", value.Str(c.Mask(src)))
	p.Set("severity", value.Str(a.Str("severity")))
	for _, k := range []string{"component", "group", "class"} {
		if s := a.Str(k); s != "" {
			p.Set(k, value.Str(c.Mask(s)))
		}
	}
	if det, ok := a.Value("details"); ok && det.Kind() == value.KObject {
		p.Set("custom_details", maskValue(c, det))
	}
	return value.Obj(p)
}
