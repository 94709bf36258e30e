package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gxl-dev/gxl/core/value"
)

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

// readSecrets reads the secrets file at p; a missing file means no
// secrets (gxl never creates it, Part I): nil.
func readSecrets(p string) ([]byte, error) {
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
	return b, nil
}

// secretVarsOf are the variables of the secrets file p that reads b, as
// a run sees them: each key k as the secret variable SEC_K.
func secretVarsOf(p string, b []byte) (map[string]value.Value, error) {
	if b == nil {
		return map[string]value.Value{}, nil
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("secrets file %s: %w", p, err)
	}
	out := make(map[string]value.Value, len(m))
	for k, v := range m {
		val, err := value.FromGo(v)
		if err != nil {
			return nil, fmt.Errorf("secrets file %s: key %s: %w", p, k, err)
		}
		out["SEC_"+strings.ToUpper(k)] = val.AsSecret()
	}
	return out, nil
}

// SecretVars reads the secrets file (override, else GAL_SEC_FILE_PATH,
// else ~/.galaxy/sec_value.yml) as a run sees it: each key k as the
// secret variable SEC_K. The engine resolves module credentials with it
// when gxl check fetches a private module into the cache.
func SecretVars(override string) (map[string]value.Value, error) {
	p := secretsPath(override)
	b, err := readSecrets(p)
	if err != nil {
		return nil, err
	}
	return secretVarsOf(p, b)
}

func lookupEnvExact(name string) (string, bool) { return os.LookupEnv(name) }
