package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gxl-dev/gxl/core/proc"
)

// RestartAPIServer stops kube-apiserver (SIGTERM, as a restart does),
// leaves it down for down, then starts it again with the same flags on
// the same port and waits until it is ready. Etcd keeps the objects.
func (k *Kube) RestartAPIServer(ctx context.Context, down time.Duration) error {
	for i, p := range k.procs {
		if p.Name != "kube-apiserver" {
			continue
		}
		p.Stop(10 * time.Second)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(down):
		}
		np, err := proc.Start(p.Name, p.LogPath, exec.Command(p.Cmd.Path, p.Cmd.Args[1:]...))
		if err != nil {
			return err
		}
		k.procs[i] = np
		csv, err := os.ReadFile(filepath.Join(k.Dir, "tokens.csv"))
		if err != nil {
			return err
		}
		token, _, _ := strings.Cut(string(csv), ",") // the admin's, first
		ca, err := os.ReadFile(filepath.Join(k.Dir, "pki", "apiserver.crt"))
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		return np.WaitFor(wctx, 100*time.Millisecond, func(ctx context.Context) error {
			return httpOK(ctx, k.Server+"/readyz", token, ca)
		})
	}
	return fmt.Errorf("no kube-apiserver in %s", k.Dir)
}
