package main

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gxl-dev/gxl/internal/devstack"
)

// copyTree copies the files under src (skipping build/ output) to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == "build" || d.Name() == "mods" && filepath.Base(src) == "sys" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == "mod_list.lock" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSystemPipelineAndFailover runs the example system (sys/ and the
// module catalog modules/, published as git repositories) through its
// whole life on real servers: fetch, setup, deploy, health_check, backup; then the
// PostgreSQL and Redis primaries are SIGKILLed and the failover stage
// promotes, re-points the Services and rejoins. It asserts on the cluster,
// the databases and the lock file, not on log text.
func TestSystemPipelineAndFailover(t *testing.T) {
	ctx := context.Background()
	x := startExampleStack(t, devstack.RedisOptions{Sentinels: 3})
	pg, rd, kube, root, rcv, env := x.pg, x.rd, x.kube, x.root, x.rcv, x.env
	mwStart, mwEnd := x.mwStart, x.mwEnd

	r := gxlEnv(t, root, env, "run", "-q", "sys/workflows/operators.gxl", "pipeline")
	if r.code != 0 {
		t.Fatalf("pipeline: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if slack, pd := rcv.Got(); len(slack)+len(pd) != 0 {
		t.Fatalf("a healthy pipeline alerted: %q %v", slack, pd)
	}

	// The lock file records the commit of every git module.
	lock, err := os.ReadFile(filepath.Join(root, "sys", "mod_list.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(lock), "commit: "); got != 10 {
		t.Fatalf("lock file holds %d commits, want 10 (every git module):\n%s", got, lock)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	const ns = "microservices"
	deps, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := map[string]int32{}
	for _, d := range deps.Items {
		ready[d.Name] = d.Status.ReadyReplicas
	}
	for _, name := range []string{"nginx-ingress", "api-gateway", "user-service", "order-service", "payment-service", "notification-service", "payment-gateway", "prometheus"} {
		if ready[name] != 2 {
			t.Errorf("deployment %s: %d ready replicas, want 2 (DEFAULT_REPLICAS)", name, ready[name])
		}
	}
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "user-service-config", metav1.GetOptions{})
	if err != nil || cm.Data["API_RATE_LIMIT"] != "1000" || cm.Data["ENVIRONMENT"] != "production" ||
		cm.Data["FEATURE_FLAGS"] != "new-dashboard,advanced-analytics" || cm.Data["MTLS_ENABLED"] != "true" || cm.Data["BUSINESS_HOURS"] != "09:00-18:00" {
		t.Fatalf("user-service-config from the system's variables: %v %v", cm, err)
	}
	hpa, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "order-service", metav1.GetOptions{})
	if err != nil || hpa.Spec.MaxReplicas != 10 {
		t.Fatalf("order-service HPA: %v %v", hpa, err)
	}
	svcPort := func(name string) int {
		t.Helper()
		s, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		return int(s.Spec.Ports[0].Port)
	}
	if svcPort("postgres-primary") != pg.Nodes[0].Port || svcPort("postgres-readonly") != pg.Nodes[1].Port || svcPort("redis-master") != rd.Primary.Port {
		t.Fatalf("data services point elsewhere: pg %d/%d redis %d", svcPort("postgres-primary"), svcPort("postgres-readonly"), svcPort("redis-master"))
	}
	var version string
	if err := devstack.QueryRow(ctx, pg.Nodes[0].DSN(), "select version from schema_version", nil, &version); err != nil || version != "2.3.0" {
		t.Fatalf("schema on the primary: %q %v", version, err)
	}

	// Outside the maintenance window the first deployment went ahead (the
	// pipeline above); a second deploy of the running modules is held
	// back, every module's, and changes nothing; --force deploys.
	const held = "deploy held back until the maintenance window "
	r = gxlEnv(t, root, env, "run", "-q", "sys/workflows/operators.gxl", "deploy", "--set", "API_RATE_LIMIT=2000")
	if r.code != 0 || strings.Count(r.stdout, held) != 11 || !strings.Contains(r.stdout, held+mwStart+"–"+mwEnd+" UTC opens at ") {
		t.Fatalf("deploy outside the window: exit %d, %d modules held back, want 11\n%s\n%s", r.code, strings.Count(r.stdout, held), r.stdout, r.stderr)
	}
	if cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "user-service-config", metav1.GetOptions{}); err != nil || cm.Data["API_RATE_LIMIT"] != "1000" {
		t.Fatalf("a held-back deploy changed user-service-config: %v %v", cm.Data, err)
	}
	r = gxlEnv(t, root, env, "run", "-q", "sys/workflows/operators.gxl", "deploy", "--force", "--set", "API_RATE_LIMIT=2000")
	if r.code != 0 || strings.Contains(r.stdout, held) {
		t.Fatalf("deploy --force: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, "user-service-config", metav1.GetOptions{}); err != nil || cm.Data["API_RATE_LIMIT"] != "2000" {
		t.Fatalf("deploy --force did not apply user-service-config: %v %v", cm.Data, err)
	}

	// A backup that fails (BACKUP_ROOT under a file: nothing can be
	// written) alerts; the good backup below resolves the incident.
	notDir := filepath.Join(root, "not-a-folder")
	os.WriteFile(notDir, []byte("x"), 0o644)
	r = gxlEnv(t, root, append(append([]string{}, env...), "BACKUP_ROOT="+filepath.Join(notDir, "backups")), "run", "-q", "sys/workflows/operators.gxl", "backup")
	if r.code != 1 {
		t.Fatalf("backup into an unwritable folder: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// The backup stage: a verified base backup of the PostgreSQL primary,
	// restore-checked, and the Redis master's RDB with its checksum.
	backupRoot := filepath.Join(root, "backups")
	r = gxlEnv(t, root, append(append([]string{}, env...), "BACKUP_ROOT="+backupRoot), "run", "-q", "sys/workflows/operators.gxl", "backup")
	if r.code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	pgBackups, _ := filepath.Glob(filepath.Join(backupRoot, "postgresql", "pg-*", "backup_manifest"))
	rdbBackups, _ := filepath.Glob(filepath.Join(backupRoot, "redis", "redis-*.rdb.sha256"))
	if len(pgBackups) != 1 || len(rdbBackups) != 1 || !strings.Contains(r.stdout, "(schema 2.3.0)") {
		t.Fatalf("backup stage: PostgreSQL %v, Redis %v\n%s", pgBackups, rdbBackups, r.stdout)
	}
	slack, pd := rcv.Got()
	checkBackupAlerts(t, slack, pd)

	// The drill: both primaries die; the failover stage waits out the
	// detection window, promotes, re-points and rejoins.
	if err := devstack.Exec(ctx, pg.Nodes[0].DSN(), "insert into users (email) values ('before-the-kill@example.com')"); err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(&redis.Options{Addr: rd.Primary.Addr()})
	if err := rc.Set(ctx, "session:1", "alive", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Do(ctx, "WAIT", 1, 5000).Err(); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	pg.Nodes[0].Kill()
	rd.Primary.Kill()
	began := time.Now()
	r = gxlEnv(t, root, env, "run", "-q", "sys/workflows/operators.gxl", "failover", "--set", "FAILURE_DETECTION_SECONDS=30")
	if r.code != 0 {
		t.Fatalf("failover: exit %d\n%s\n%s\n%s", r.code, r.stdout, r.stderr, pg.Logs())
	}
	took := time.Since(began)
	checkFailoverAlerts(t, rcv, "postgres_primary", "redis_cache")
	if leaks(r.stdout + r.stderr) {
		t.Errorf("a secret in the failover's output:\n%s%s", r.stdout, r.stderr)
	}
	if took < 30*time.Second {
		t.Fatalf("failover finished after %s, before the 30 s detection window", took)
	}
	if svcPort("postgres-primary") != pg.Nodes[1].Port || svcPort("postgres-readonly") != pg.Nodes[0].Port {
		t.Fatalf("postgres services not re-pointed: primary %d readonly %d", svcPort("postgres-primary"), svcPort("postgres-readonly"))
	}
	var inRecovery bool
	if err := devstack.QueryRow(ctx, pg.Nodes[1].DSN(), "select pg_is_in_recovery()", nil, &inRecovery); err != nil || inRecovery {
		t.Fatalf("new primary in recovery=%v (%v)", inRecovery, err)
	}
	if err := devstack.QueryRow(ctx, pg.Nodes[0].DSN(), "select pg_is_in_recovery()", nil, &inRecovery); err != nil || !inRecovery {
		t.Fatalf("old primary rejoined as standby: in recovery=%v (%v)", inRecovery, err)
	}
	var n int
	if err := devstack.QueryRow(ctx, pg.Nodes[1].DSN(), "select count(*) from users where email = 'before-the-kill@example.com'", nil, &n); err != nil || n != 1 {
		t.Fatalf("row committed before the kill on the new primary: %d (%v)", n, err)
	}
	if err := devstack.Exec(ctx, pg.Nodes[1].DSN(), "insert into users (email) values ('after@example.com')"); err != nil {
		t.Fatalf("new primary refuses writes: %v", err)
	}
	if svcPort("redis-master") != rd.Replica.Port {
		t.Fatalf("redis-master points at %d, want the promoted replica %d", svcPort("redis-master"), rd.Replica.Port)
	}
	nc := redis.NewClient(&redis.Options{Addr: rd.Replica.Addr()})
	defer nc.Close()
	role, err := nc.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) == 0 || role[0] != "master" {
		t.Fatalf("promoted replica role %v (%v)", role, err)
	}
	if v, err := nc.Get(ctx, "session:1").Result(); err != nil || v != "alive" {
		t.Fatalf("key written before the kill: %q %v", v, err)
	}
	t.Logf("failover stage (30 s detection window included): %s", took.Round(time.Millisecond))
}

// exampleStack is the example system (sys/ and the module catalog
// modules/, published as git repositories, in a temporary root) on real
// servers: PostgreSQL with a synchronous standby, Redis with ro's
// options, Kubernetes; its alerts go to rcv; env is what gxl needs.
type exampleStack struct {
	pg   *devstack.PGCluster
	rd   *devstack.RedisHA
	kube *devstack.Kube
	root string
	rcv  *alertReceiver
	env  []string
	// mwStart, mwEnd: the maintenance window env sets, two hours from now.
	mwStart, mwEnd string
}

// pipeline runs the example system's pipeline (fetch, setup, deploy,
// health_check) with env.
func (x *exampleStack) pipeline(t *testing.T, env []string) {
	t.Helper()
	if r := gxlEnv(t, x.root, env, "run", "-q", "sys/workflows/operators.gxl", "pipeline"); r.code != 0 {
		t.Fatalf("pipeline: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// kubeClient connects to the stack's API server; svcPort is the port the
// Service name of the example system's namespace names now (-1 while it
// cannot be read).
func (x *exampleStack) kubeClient(t *testing.T) (cfg *rest.Config, cs *kubernetes.Clientset, svcPort func(name string) int) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", x.kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cs = kubernetes.NewForConfigOrDie(cfg)
	return cfg, cs, func(name string) int {
		s, err := cs.CoreV1().Services("microservices").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return -1
		}
		return int(s.Spec.Ports[0].Port)
	}
}

func startExampleStack(t *testing.T, ro devstack.RedisOptions) *exampleStack {
	t.Helper()
	ctx := context.Background()
	pg, err := devstack.StartPG(ctx, "", devstack.PGOptions{Sync: true})
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(pg.Cleanup)
	t.Cleanup(func() { pg.StopDataDir(pg.Nodes[0].DataDir); pg.StopDataDir(pg.Nodes[1].DataDir) })
	rd, err := devstack.StartRedis(ctx, "", ro)
	if err != nil {
		t.Fatalf("Redis: %v", err)
	}
	t.Cleanup(rd.Cleanup)
	kube, err := devstack.StartKube(ctx, "", devstack.KubeOptions{})
	if err != nil {
		t.Fatalf("Kubernetes: %v", err)
	}
	t.Cleanup(kube.Cleanup)

	root := t.TempDir()
	copyTree(t, filepath.Join("..", "..", "sys"), filepath.Join(root, "sys"))
	copyTree(t, filepath.Join("..", "..", "modules"), filepath.Join(root, "modules"))
	if n, err := publishCatalog(filepath.Join(root, "modules"), filepath.Join(root, "git")); err != nil || n != 10 {
		t.Fatalf("publish: %d repositories, %v", n, err)
	}
	conn := map[string]string{"KUBECONFIG": kube.Kubeconfig}
	for k, v := range pg.Env() {
		conn[k] = v
	}
	for k, v := range rd.Env() {
		conn[k] = v
	}
	if err := writeYAMLFile(filepath.Join(root, "connections.yml"), conn); err != nil {
		t.Fatal(err)
	}
	// The system's alerts go to a real receiver on loopback.
	rcv := newAlertReceiver(t)
	// The maintenance window opens two hours from now: every run below
	// is outside it.
	now := time.Now().UTC()
	mwStart, mwEnd := now.Add(2*time.Hour).Format("15:04"), now.Add(3*time.Hour).Format("15:04")
	env := append([]string{
		"GXL_MIRRORS=https://github.com/=" + filepath.Join(root, "git", "github.com") + "/",
		"GXL_MODULE_CACHE=" + filepath.Join(root, "cache"),
		"GXL_CONNECTIONS=" + filepath.Join(root, "connections.yml"),
		"TZ=UTC", "MAINTENANCE_WINDOW_START=" + mwStart, "MAINTENANCE_WINDOW_END=" + mwEnd,
	}, rcv.env()...)
	return &exampleStack{pg: pg, rd: rd, kube: kube, root: root, rcv: rcv, env: env, mwStart: mwStart, mwEnd: mwEnd}
}

// TestShippedWorkflowsCheck: every workflow this repository ships checks
// clean and is formatted — the example system, its module catalog (git
// externs resolved from the published catalog) and the examples.
func TestShippedWorkflowsCheck(t *testing.T) {
	root := t.TempDir()
	if _, err := publishCatalog(filepath.Join("..", "..", "modules"), filepath.Join(root, "git")); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"GXL_MIRRORS=https://github.com/=" + filepath.Join(root, "git", "github.com") + "/",
		"GXL_MODULE_CACHE=" + filepath.Join(root, "cache"),
	}
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	files, _ := filepath.Glob(filepath.Join(repo, "modules", "*", "workflows", "*.gxl"))
	// The system is checked from a copy without what a run of it fetched
	// (sys/mods, sys/mod_list.lock: make demo leaves them in the clone), so
	// its modules come from the module cache, as on a fresh clone.
	sys := filepath.Join(root, "sys")
	copyTree(t, filepath.Join(repo, "sys"), sys)
	copyTree(t, filepath.Join(repo, "modules", "payment-gateway"), filepath.Join(root, "modules", "payment-gateway")) // its local module
	files = append(files, filepath.Join(sys, "workflows", "operators.gxl"), filepath.Join(repo, "examples", "ops", "work.gxl"), filepath.Join(repo, "modules", "ops-gxl", "mods", "svc.gxl"), filepath.Join(repo, "modules", "ops-gxl", "mods", "alert.gxl"))
	if len(files) < 12 {
		t.Fatalf("only %d workflows found", len(files))
	}
	for _, f := range files {
		// The data modules compare the servers' settings, which the system
		// workflow reads from a file, in conditions: they check in their
		// system's context, which the check of sys/workflows/operators.gxl
		// gives every enabled module (checked from the module cache below).
		if strings.Contains(f, "postgresql-ha") || strings.Contains(f, "redis-ha") {
			continue
		}
		if r := gxlEnv(t, repo, env, "check", f); r.code != 0 || strings.Contains(r.stderr, ": error:") || strings.Contains(r.stderr, "not fetched") {
			t.Errorf("gxl check %s: exit %d\n%s", f, r.code, r.stderr)
		}
	}
	// The system's check fetched its git modules into the module cache to
	// check them, the data modules among them.
	for _, m := range []string{"postgresql-ha@v15.5.0", "redis-ha@v7.2.4", "nginx@v1.25.3"} {
		if _, err := os.Stat(filepath.Join(root, "cache", "checkouts", "https_github.com_galaxy-operators_"+m, "workflows", "operators.gxl")); err != nil {
			t.Errorf("module %s was not checked through the system: %v", m, err)
		}
	}
	if r := gxl(t, repo, append([]string{"fmt", "--check"}, files...)...); r.code != 0 {
		t.Errorf("not formatted:\n%s%s", r.stdout, r.stderr)
	}
}
