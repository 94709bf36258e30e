// Package logfmt holds the two encoders of gxl's event stream — the run's
// logger (zap) is the one writer of events, and these decide how an event
// looks:
//
//   - Console: gxl's own compact line for people,
//     `12:00:01 [web] main.deploy  step 3/7 took=1.2s`: the time, the module
//     of a system stage, the flow, the level only when it is not info, the
//     message, then the other fields as key=value;
//   - JSON: one JSON object per line for machines — ts, level (INFO, WARN,
//     ERROR), msg, then the fields, every one kept (run, module, flow, at);
//     durations as numbers of seconds.
package logfmt

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// The fields every event of a run may carry, which the console shows in
// columns of their own (or not at all) rather than as key=value.
const (
	KeyRun    = "run"    // the run's journal id
	KeyModule = "module" // the module of a system stage
	KeyFlow   = "flow"   // the innermost flow
	KeyAt     = "at"     // the statement's position, file:line:col
)

// JSON is the encoder of --log-format json: one object per line with ts
// (ISO 8601), level, msg and the fields; durations as numbers of seconds.
func JSON() zapcore.Encoder {
	return zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey:        "ts",
		LevelKey:       "level",
		MessageKey:     "msg",
		NameKey:        "logger",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeTime:     zapcore.ISO8601TimeEncoder,
		EncodeLevel:    zapcore.CapitalLevelEncoder,
		EncodeDuration: zapcore.SecondsDurationEncoder,
	})
}

// Console is the encoder of the console format; color adds ANSI colours
// (the caller decides, with core/tty).
func Console(color bool) zapcore.Encoder {
	return &console{color: color, ctx: zapcore.NewMapObjectEncoder()}
}

const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[1;31m"
	ansiYellow = "\x1b[1;33m"
	ansiCyan   = "\x1b[36m"
	ansiPurple = "\x1b[35m"
)

// console is the compact human encoder. The fields added by With are kept
// in a map encoder (in order of their keys' first appearance) and written
// with the entry's own fields.
type console struct {
	color bool
	ctx   *zapcore.MapObjectEncoder
	order []string
}

// The ObjectEncoder methods write into the context map: zap calls them
// for the fields of With and of each entry.

func (c *console) AddArray(k string, v zapcore.ArrayMarshaler) error {
	c.note(k)
	return c.ctx.AddArray(k, v)
}
func (c *console) AddObject(k string, v zapcore.ObjectMarshaler) error {
	c.note(k)
	return c.ctx.AddObject(k, v)
}
func (c *console) AddBinary(k string, v []byte)          { c.note(k); c.ctx.AddBinary(k, v) }
func (c *console) AddByteString(k string, v []byte)      { c.note(k); c.ctx.AddByteString(k, v) }
func (c *console) AddBool(k string, v bool)              { c.note(k); c.ctx.AddBool(k, v) }
func (c *console) AddComplex128(k string, v complex128)  { c.note(k); c.ctx.AddComplex128(k, v) }
func (c *console) AddComplex64(k string, v complex64)    { c.note(k); c.ctx.AddComplex64(k, v) }
func (c *console) AddDuration(k string, v time.Duration) { c.note(k); c.ctx.AddDuration(k, v) }
func (c *console) AddFloat64(k string, v float64)        { c.note(k); c.ctx.AddFloat64(k, v) }
func (c *console) AddFloat32(k string, v float32)        { c.note(k); c.ctx.AddFloat32(k, v) }
func (c *console) AddInt(k string, v int)                { c.note(k); c.ctx.AddInt(k, v) }
func (c *console) AddInt64(k string, v int64)            { c.note(k); c.ctx.AddInt64(k, v) }
func (c *console) AddInt32(k string, v int32)            { c.note(k); c.ctx.AddInt32(k, v) }
func (c *console) AddInt16(k string, v int16)            { c.note(k); c.ctx.AddInt16(k, v) }
func (c *console) AddInt8(k string, v int8)              { c.note(k); c.ctx.AddInt8(k, v) }
func (c *console) AddString(k, v string)                 { c.note(k); c.ctx.AddString(k, v) }
func (c *console) AddTime(k string, v time.Time)         { c.note(k); c.ctx.AddTime(k, v) }
func (c *console) AddUint(k string, v uint)              { c.note(k); c.ctx.AddUint(k, v) }
func (c *console) AddUint64(k string, v uint64)          { c.note(k); c.ctx.AddUint64(k, v) }
func (c *console) AddUint32(k string, v uint32)          { c.note(k); c.ctx.AddUint32(k, v) }
func (c *console) AddUint16(k string, v uint16)          { c.note(k); c.ctx.AddUint16(k, v) }
func (c *console) AddUint8(k string, v uint8)            { c.note(k); c.ctx.AddUint8(k, v) }
func (c *console) AddUintptr(k string, v uintptr)        { c.note(k); c.ctx.AddUintptr(k, v) }
func (c *console) AddReflected(k string, v any) error {
	c.note(k)
	return c.ctx.AddReflected(k, v)
}
func (c *console) OpenNamespace(k string) { c.ctx.OpenNamespace(k) }

func (c *console) note(k string) {
	if _, ok := c.ctx.Fields[k]; !ok {
		c.order = append(c.order, k)
	}
}

// Clone copies the context fields.
func (c *console) Clone() zapcore.Encoder {
	n := &console{color: c.color, ctx: zapcore.NewMapObjectEncoder(), order: append([]string(nil), c.order...)}
	for k, v := range c.ctx.Fields {
		n.ctx.Fields[k] = v
	}
	return n
}

var pool = buffer.NewPool()

// EncodeEntry writes one line.
func (c *console) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	all := c.Clone().(*console)
	for _, f := range fields {
		f.AddTo(all)
	}
	m := all.ctx.Fields
	b := pool.Get()
	paint := func(code, s string) {
		if c.color {
			b.AppendString(code)
			b.AppendString(s)
			b.AppendString(ansiReset)
		} else {
			b.AppendString(s)
		}
	}
	paint(ansiDim, ent.Time.Format("15:04:05"))
	if mod, ok := m[KeyModule].(string); ok && mod != "" {
		b.AppendByte(' ')
		paint(ansiPurple, "["+mod+"]")
	}
	if flow, ok := m[KeyFlow].(string); ok && flow != "" {
		b.AppendByte(' ')
		paint(ansiCyan, flow)
		b.AppendByte(' ')
	}
	b.AppendByte(' ')
	switch {
	case ent.Level >= zapcore.ErrorLevel:
		paint(ansiRed, ent.Level.CapitalString())
		b.AppendByte(' ')
	case ent.Level == zapcore.WarnLevel:
		paint(ansiYellow, ent.Level.CapitalString())
		b.AppendByte(' ')
	case ent.Level == zapcore.DebugLevel:
		paint(ansiDim, ent.Level.CapitalString())
		b.AppendByte(' ')
	}
	if ent.Level > zapcore.InfoLevel {
		paint(ansiBold, ent.Message)
	} else {
		b.AppendString(ent.Message)
	}
	for _, k := range all.order {
		switch k {
		case KeyRun, KeyModule, KeyFlow:
			continue
		case KeyAt:
			// The statement's position says where a warning or an error
			// is; on every info line it would only be noise.
			if ent.Level < zapcore.WarnLevel {
				continue
			}
		}
		b.AppendByte(' ')
		paint(ansiDim, k+"=")
		b.AppendString(format(m[k]))
	}
	b.AppendString(zapcore.DefaultLineEnding)
	return b, nil
}

// format is a field's value as logfmt writes it: quoted when it has
// spaces, quotes or '=', durations rounded to milliseconds.
func format(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case time.Duration:
		return x.Round(time.Millisecond).String()
	case float64:
		if math.Trunc(x) == x && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', 4, 64)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = strings.Trim(format(e), `"`)
		}
		s = strings.Join(parts, ",")
	case nil:
		return `""`
	default:
		s = fmtAny(x)
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"=") || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	return s
}

func fmtAny(v any) string {
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprint(v)
}
