package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gxl-dev/gxl/core/retry"
	"github.com/gxl-dev/gxl/internal/devstack"
)

func init() { register(newDevCmd) }

// newDevCmd runs the local stack of real servers (PostgreSQL primary +
// standby, Redis primary + replica + 3 Sentinels, a Kubernetes control
// plane with kwok) that tests and the demo use, for people to use by hand.
func newDevCmd(s *streams) *cobra.Command {
	var dir string
	var noKube bool
	dev := &cobra.Command{Use: "dev", Short: "Run the local stack of real servers (PostgreSQL, Redis, Kubernetes)"}
	dev.PersistentFlags().StringVar(&dir, "dir", ".gxl/dev", "folder for the connection settings and the pid file")
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the servers in the foreground; stop them with Ctrl-C or `gxl dev down`",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return failf(exitUsage, "%v", err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			began := time.Now()
			env := map[string]string{}
			pg, err := devstack.StartPG(ctx, "", devstack.PGOptions{Sync: true})
			if err != nil {
				return failf(exitFailed, "PostgreSQL: %v", err)
			}
			defer pg.Cleanup()
			defer pg.StopDataDir(pg.Nodes[0].DataDir)
			defer pg.StopDataDir(pg.Nodes[1].DataDir)
			for k, v := range pg.Env() {
				env[k] = v
			}
			env["PG_PRIMARY_PID"] = strconv.Itoa(pg.Nodes[0].PID())
			env["PG_STANDBY_PID"] = strconv.Itoa(pg.Nodes[1].PID())
			// The redis-servers are supervised: a killed one comes back
			// after 10 s (the Sentinels have failed over by then, and the
			// failover flows have seen it down for a short detection
			// window, 5 s in make demo) and the
			// Sentinels make it a replica of the new master.
			rd, err := devstack.StartRedis(ctx, "", devstack.RedisOptions{Sentinels: 3, RestartAfter: 10 * time.Second})
			if err != nil {
				return failf(exitFailed, "Redis: %v", err)
			}
			defer rd.Cleanup()
			for k, v := range rd.Env() {
				env[k] = v
			}
			env["REDIS_PRIMARY_PID"] = strconv.Itoa(rd.Primary.PID())
			env["REDIS_REPLICA_PID"] = strconv.Itoa(rd.Replica.PID())
			if !noKube {
				k, err := devstack.StartKube(ctx, "", devstack.KubeOptions{})
				if err != nil {
					return failf(exitFailed, "Kubernetes: %v", err)
				}
				defer k.Cleanup()
				env["KUBECONFIG"] = k.Kubeconfig
				env["KUBE_SERVER"] = k.Server
			}
			env["MANIFESTS"] = manifestsDir()
			envFile := filepath.Join(dir, "connections.env")
			if err := writeEnvFile(envFile, env); err != nil {
				return failf(exitFailed, "%v", err)
			}
			if err := writeYAMLFile(filepath.Join(dir, "connections.yml"), env); err != nil {
				return failf(exitFailed, "%v", err)
			}
			os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
			defer os.Remove(filepath.Join(dir, "pid"))
			fmt.Fprintf(s.out, "local stack ready in %s; settings in %s (source it: set -a; . %s)\n", time.Since(began).Round(time.Millisecond), envFile, envFile)
			os.WriteFile(filepath.Join(dir, "ready"), []byte("ok\n"), 0o644)
			defer os.Remove(filepath.Join(dir, "ready"))
			<-ctx.Done()
			fmt.Fprintln(s.out, "stopping the local stack")
			return nil
		},
	}
	up.Flags().BoolVar(&noKube, "no-kube", false, "do not start Kubernetes")
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop a running `gxl dev up`",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(filepath.Join(dir, "pid"))
			if err != nil {
				return failf(exitUsage, "no running stack in %s", dir)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				return failf(exitFailed, "stop %d: %v", pid, err)
			}
			// The stack removes its pid file last when it has stopped.
			if err := retry.Poll(context.Background(), 100*time.Millisecond, 30*time.Second, "the stack to stop", func(context.Context) (bool, error) {
				_, err := os.Stat(filepath.Join(dir, "pid"))
				return err != nil, nil
			}); err != nil {
				return failf(exitFailed, "%v", err)
			}
			fmt.Fprintln(s.out, "stopped")
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show whether the stack is up and its connection settings",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := os.Stat(filepath.Join(dir, "ready")); err != nil {
				fmt.Fprintln(s.out, "down")
				return &exitError{code: exitFailed}
			}
			b, err := os.ReadFile(filepath.Join(dir, "connections.env"))
			if err != nil {
				return failf(exitFailed, "%v", err)
			}
			fmt.Fprintf(s.out, "up\n%s", b)
			return nil
		},
	}
	var alertsListen string
	alerts := &cobra.Command{
		Use:   "alerts [--listen ADDR]",
		Short: "Receive alerts locally and print them (point SLACK_WEBHOOK_URL and PAGERDUTY_EVENTS_URL at it)",
		Long: `A local receiver of the alerts gxl sends: every JSON POST is printed as one line (a Slack
message's text, a PagerDuty event's action, dedup key and summary) until SIGINT/SIGTERM. The
settings that point the example system at it are printed first; make demo uses it.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			sink, err := devstack.StartAlertSink(alertsListen, s.out)
			if err != nil {
				return failf(exitUsage, "cannot listen on %s: %v", alertsListen, err)
			}
			defer sink.Close()
			fmt.Fprintf(s.out, "receiving alerts on %s\nSLACK_WEBHOOK_URL=%s/slack\nPAGERDUTY_SERVICE_KEY=demo-routing-key\nPAGERDUTY_EVENTS_URL=%s/pagerduty\n", sink.Addr(), sink.Addr(), sink.Addr())
			<-ctx.Done()
			return nil
		},
	}
	alerts.Flags().StringVar(&alertsListen, "listen", "127.0.0.1:0", "address to receive alerts on (port 0: a free one)")
	dev.AddCommand(up, down, status, alerts, newPublishCmd(s))
	return dev
}

// manifestsDir is the example manifests folder of the repository.
func manifestsDir() string {
	d, _ := filepath.Abs("testdata/k8s/app")
	return d
}

// writeYAMLFile writes the settings for gx.read_file.
func writeYAMLFile(path string, env map[string]string) error {
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %q\n", k, env[k])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func writeEnvFile(path string, env map[string]string) error {
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, env[k])
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
