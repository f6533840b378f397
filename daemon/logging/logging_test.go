package logging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vinr/cashlessd/daemon/config"
)

func TestOpenWritesTheFileInsideTheDataDirAndStderr(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Log.File = "logs/cashlessd.log"
	also := true
	cfg.Log.Stderr = &also
	var stderr bytes.Buffer
	out, closeLog, err := Open(cfg, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	quiet, plain := New(out, "warn"), New(out, "")
	quiet.Info().Msg("not at warn")
	plain.Info().Msg("hello")
	closeLog()
	path := filepath.Join(cfg.DataDir, "logs", "cashlessd.log")
	if FilePath(cfg) != path {
		t.Errorf("FilePath %q, want %q", FilePath(cfg), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode %v", st.Mode().Perm())
	}
	for name, got := range map[string]string{"file": string(raw), "stderr": stderr.String()} {
		if strings.Count(got, "\n") != 1 || !strings.Contains(got, `"message":"hello"`) {
			t.Errorf("%s: %q", name, got)
		}
	}
}

func TestOpenWithoutAFileIsStderr(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	out, closeLog, err := Open(config.Default(), &stderr)
	if err != nil || out != &stderr {
		t.Fatalf("out %v, err %v", out, err)
	}
	closeLog()
}
