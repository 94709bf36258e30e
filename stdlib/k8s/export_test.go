package k8s

import (
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// Reads tells, for the cluster of a kubeconfig, how many reads of
// k8s.get and k8s.exists went to the API server and how many objects are
// watched now.
func Reads(kubeconfig string) (live int64, watching int, err error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, ns, err := loadKubeconfig(rules, "")
	if err != nil {
		return 0, 0, err
	}
	k, err := clientFor(cfg, ns)
	if err != nil {
		return 0, 0, err
	}
	return k.reads.live.Load(), k.reads.watching(), nil
}

// SetRequestTimeout sets the request timeout of the connections made
// from kubeconfig files read from now on; restore sets it back.
func SetRequestTimeout(d time.Duration) (restore func()) {
	old := requestTimeout
	requestTimeout = d
	return func() { requestTimeout = old }
}
