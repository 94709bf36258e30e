package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/runtime/value"
)

// projectRoot is the nearest ancestor of dir holding _gal/project.toml, or
// the literal UNDEFIN (§2.9).
func projectRoot(dir string) string {
	d, _ := filepath.Abs(dir)
	for {
		if _, err := os.Stat(filepath.Join(d, "_gal", "project.toml")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "UNDEFIN"
		}
		d = parent
	}
}

// osSys renders <arch>_<ostype>_<major>, e.g. x86_64_debian_12 (§2.9).
func osSys() string {
	arch := goruntime.GOARCH
	switch arch {
	case "amd64":
		arch = "x86_64"
	case "arm64":
		arch = "arm64"
	}
	osType, major := goruntime.GOOS, "0"
	if goruntime.GOOS == "darwin" {
		osType = "macos"
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"`)
			switch k {
			case "ID":
				osType = v
			case "VERSION_ID":
				major, _, _ = strings.Cut(v, ".")
			}
		}
	}
	return strings.ToLower(arch + "_" + osType + "_" + major)
}

// secretsPath is GAL_SEC_FILE_PATH or ~/.galaxy/sec_value.yml.
func secretsPath(override string) string {
	if override != "" {
		return override
	}
	if p := os.Getenv("GAL_SEC_FILE_PATH"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".galaxy", "sec_value.yml")
}

// loadSecrets reads the secrets file; a missing file means no secrets (gxl
// never creates it, Part I).
func loadSecrets(override string) (map[string]value.Value, error) {
	p := secretsPath(override)
	if p == "" {
		return nil, nil
	}
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secrets file %s: %w", p, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("secrets file %s: %w", p, err)
	}
	out := map[string]value.Value{}
	for k, v := range m {
		val, err := value.FromGo(v)
		if err != nil {
			return nil, fmt.Errorf("secrets file %s: key %s: %w", p, k, err)
		}
		out[k] = val
	}
	return out, nil
}

func lookupEnvExact(name string) (string, bool) { return os.LookupEnv(name) }
