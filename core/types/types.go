// Package types is gxl's one static type system: the types of built-in
// parameters and results, of predefined and system variables, and of the
// checker's variable and condition analysis. It sits in the bottom layer
// (core) and imports nothing of gxl.
package types

// Type is a static type.
type Type uint8

// Types. String parameters also accept numbers and booleans (converted to
// text, as the original's string-only arguments were); Duration takes a
// string such as "30s" or an int of seconds. Any is "not known statically".
const (
	Any Type = iota
	String
	Int
	Float
	Bool
	List
	Object
	Duration
)

var names = [...]string{"any", "string", "int", "float", "bool", "list", "object", "duration"}

func (t Type) String() string {
	if int(t) < len(names) {
		return names[t]
	}
	return "invalid"
}

// SchemaNames are the type names a system's variable declarations use
// (sys/vars.yml `type:`), JSON-schema style.
var SchemaNames = []string{"string", "integer", "number", "boolean", "list", "object"}

// FromSchema maps a schema type name to its Type; ok is false for an
// unknown name.
func FromSchema(name string) (t Type, ok bool) {
	switch name {
	case "string":
		return String, true
	case "integer":
		return Int, true
	case "number":
		return Float, true
	case "boolean":
		return Bool, true
	case "list":
		return List, true
	case "object":
		return Object, true
	}
	return Any, false
}
