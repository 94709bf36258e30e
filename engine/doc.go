// Package engine is the Go API a program embeds to check, plan and run GXL
// workflows, and the one place that wires the layers together: the
// registry of every built-in family, the system model and module fetcher
// for files under sys/, the checker and the runtime. See
// docs/architecture.md.
package engine
