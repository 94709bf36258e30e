package main

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gxl-dev/gxl/engine"
)

// bindState adds --state, --state-namespace and --state-lock-ttl: where
// run journals are kept (gxl operate, gxl runs).
func bindState(fl *pflag.FlagSet) {
	fl.String("state", "disk", "where run journals are kept: disk (.gxl/runs) or cluster (ConfigMaps in the Kubernetes API server of the kubeconfig); gxl operate --ha keeps them in the cluster unless --state disk is given")
	fl.String("state-namespace", "", "namespace of the run journals with --state cluster (default: the kubeconfig context's, in a pod its own)")
	fl.Duration("state-lock-ttl", engine.DefaultClusterLockTTL, "with --state cluster: a run whose gxl renewed its lock no longer than this ago is running")
}

// stateOptions are the engine options of the --state flags of cmd;
// inCluster makes cluster the default (gxl operate --ha).
func stateOptions(cmd *cobra.Command, inCluster bool) ([]engine.Option, error) {
	fl := cmd.Flags()
	state, _ := fl.GetString("state")
	if inCluster && !fl.Changed("state") {
		state = "cluster"
	}
	ns, _ := fl.GetString("state-namespace")
	ttl, _ := fl.GetDuration("state-lock-ttl")
	switch state {
	case "disk", "":
		if fl.Changed("state-namespace") {
			return nil, failf(exitUsage, "--state-namespace needs --state cluster")
		}
		if fl.Changed("state") {
			return []engine.Option{engine.WithDiskState()}, nil
		}
		return nil, nil
	case "cluster":
		if ttl < time.Second {
			return nil, failf(exitUsage, "--state-lock-ttl must be at least 1s")
		}
		return []engine.Option{engine.WithClusterState(engine.ClusterState{Namespace: ns, LockTTL: ttl})}, nil
	}
	return nil, failf(exitUsage, "--state must be disk or cluster, not %q", state)
}
