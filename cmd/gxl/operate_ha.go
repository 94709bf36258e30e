package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/engine"
)

// haFlags are gxl operate's --ha flags (engine.HA).
type haFlags struct {
	on                     bool
	lease, identity        string
	duration, renew, retry time.Duration
	cmd                    *cobra.Command
}

func (h *haFlags) bind(cmd *cobra.Command) {
	h.cmd = cmd
	fl := cmd.Flags()
	d := engine.DefaultHA
	fl.BoolVar(&h.on, "ha", false, "act only while holding a Kubernetes Lease: run several replicas, one acts (docs/operate.md, HA mode)")
	fl.StringVar(&h.lease, "lease", "", `the Lease NAMESPACE/NAME (default <NAMESPACE of the system, else "default">/gxl-operator-<system name>)`)
	fl.StringVar(&h.identity, "identity", "", "this replica's name in the Lease (default hostname_pid)")
	fl.DurationVar(&h.duration, "lease-duration", d.LeaseDuration, "how long the others wait after the leader's last renewal")
	fl.DurationVar(&h.renew, "renew-deadline", d.RenewDeadline, "the leader stops acting when it could not renew for this long")
	fl.DurationVar(&h.retry, "retry-period", d.RetryPeriod, "how often replicas try to take or renew the Lease")
}

// option is engine.WithHA of the flags, nil without --ha; a bad value is
// a usage error (exit 2) with a hint.
func (h *haFlags) option() (engine.OperateOption, error) {
	if !h.on {
		for _, name := range []string{"lease", "identity", "lease-duration", "renew-deadline", "retry-period"} {
			if h.cmd.Flags().Changed(name) {
				return nil, failf(exitUsage, "--%s needs --ha", name)
			}
		}
		return nil, nil
	}
	c := engine.HA{Lease: h.lease, Identity: h.identity, LeaseDuration: h.duration, RenewDeadline: h.renew, RetryPeriod: h.retry}
	if err := c.Check(); err != nil {
		return nil, failf(exitUsage, "%v", err)
	}
	return engine.WithHA(c), nil
}
