package notify

import (
	"context"

	"github.com/gxl-dev/gxl/core/types"
	"github.com/gxl-dev/gxl/core/value"
	"github.com/gxl-dev/gxl/lang/builtin"
)

func registerSlack(r *builtin.Registry) {
	r.Add(&builtin.Builtin{
		Name: "notify.slack", Doc: "Post a message to a Slack incoming webhook (JSON), retried; a failed delivery is a warning, never a failed step. An empty url sends nothing.",
		Where: builtin.InBlock, Effect: builtin.Changes,
		Params: append([]builtin.Param{
			{Name: "url", Type: types.String, Required: true, Doc: "the incoming-webhook URL (a secret: pass a secret variable; never printed, log lines show its host only); empty: nothing is sent"},
			{Name: "text", Type: types.String, Required: true, Positional: true, Doc: "the message (Slack mrkdwn; secrets of the run masked)"},
			{Name: "channel", Type: types.String, Doc: "channel override (#ops), when the webhook allows it"},
			{Name: "username", Type: types.String, Doc: "sender name override"},
			{Name: "icon_emoji", Type: types.String, Doc: "sender icon (:rotating_light:)"},
			{Name: "blocks", Type: types.List, Doc: "Block Kit blocks (objects), sent as they are; text stays the notification's fallback"},
		}, deliveryParams()...),
		SetsVars: builtin.OutVar("NOTIFY"),
		Run:      runSlack,
	})
}

func runSlack(c builtin.Ctx, a builtin.Args) error {
	url := a.Str("url")
	d := newDelivery(c, a, "notify.slack", Redact(url), urlSecrets(url)...)
	if url == "" {
		return d.skip("no webhook url")
	}
	msg := value.NewObject()
	msg.Set("text", value.Str(c.Mask(a.Str("text"))))
	for _, k := range []string{"channel", "username", "icon_emoji"} {
		if s := a.Str(k); s != "" {
			msg.Set(k, value.Str(s))
		}
	}
	if b, ok := a.Value("blocks"); ok && len(b.ListVal()) > 0 {
		msg.Set("blocks", maskValue(c, b))
	}
	return d.run("message", func(ctx context.Context) error {
		_, err := postJSON(ctx, url, value.Obj(msg))
		return err
	})
}

// maskValue returns v with the run's secrets masked in every string it
// holds (an alert is text gxl sends out: spec I.4).
func maskValue(c builtin.Ctx, v value.Value) value.Value {
	switch v.Kind() {
	case value.KString:
		return value.Str(c.Mask(v.StrVal()))
	case value.KList:
		out := make([]value.Value, len(v.ListVal()))
		for i, e := range v.ListVal() {
			out[i] = maskValue(c, e)
		}
		return value.List(out...)
	case value.KObject:
		o := value.NewObject()
		src := v.ObjVal()
		for i, k := range src.Keys() {
			o.Set(k, maskValue(c, src.Values()[i]))
		}
		return value.Obj(o)
	}
	return v
}
