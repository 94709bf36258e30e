package mask

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Core wraps a zap core so that the message and every field of each log
// entry are masked with the Set current returns when the entry is
// written (JSON and console logs alike). Fields that are not plain
// numbers or booleans are rendered to text when they hold a secret.
func Core(c zapcore.Core, current func() *Set) zapcore.Core {
	return &core{Core: c, current: current}
}

type core struct {
	zapcore.Core
	current func() *Set
}

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	return &core{Core: c.Core.With(maskFields(c.current(), fields)), current: c.current}
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fields []zapcore.Field) error {
	s := c.current()
	if s.Len() > 0 {
		e.Message = s.String(e.Message)
		fields = maskFields(s, fields)
	}
	return c.Core.Write(e, fields)
}

func maskFields(s *Set, fields []zapcore.Field) []zapcore.Field {
	if s.Len() == 0 {
		return fields
	}
	out := make([]zapcore.Field, len(fields))
	for i, f := range fields {
		out[i] = f
		switch f.Type {
		case zapcore.BoolType, zapcore.DurationType, zapcore.Float64Type, zapcore.Float32Type,
			zapcore.Int64Type, zapcore.Int32Type, zapcore.Int16Type, zapcore.Int8Type,
			zapcore.Uint64Type, zapcore.Uint32Type, zapcore.Uint16Type, zapcore.Uint8Type,
			zapcore.UintptrType, zapcore.TimeType, zapcore.TimeFullType, zapcore.SkipType:
		case zapcore.StringType:
			out[i].String = s.String(f.String)
		default:
			enc := zapcore.NewMapObjectEncoder()
			f.AddTo(enc)
			if text := fmt.Sprint(enc.Fields[f.Key]); s.Contains(text) {
				out[i] = zap.String(f.Key, s.String(text))
			}
		}
	}
	return out
}
