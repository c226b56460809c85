package cli_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/cli"
	"github.com/thot-security/thot/internal/config"
)

// run executes the CLI in-process with an isolated data directory.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	full := map[string]string{"THOT_ENV_FILE": "", "THOT_PASSWORD_ITERATIONS": "1000"}
	for k, v := range env {
		full[k] = v
	}
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, cli.Env{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) (string, bool) { v, ok := full[k]; return v, ok },
	})
	return code, out.String(), errb.String()
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"serve", "--help"}, {"migrate", "--help"}, {"user", "--help"}, {"config", "--help"}, {"worker", "--help"}, {"version"}} {
		code, out, errOut := run(t, nil, "", args...)
		if code != 0 || out == "" {
			t.Errorf("thot %v: code %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, nil, "", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: code %d, %q", code, errOut)
	}
}

func TestConfigCheck(t *testing.T) {
	code, out, _ := run(t, map[string]string{"DATABASE_URL": "postgres://thot:hunter2@db/thot", "SMTP_PASSWORD": "mailpw"}, "", "config", "check")
	if code != 0 || !strings.Contains(out, "configuration OK") || !strings.Contains(out, "THOT_DATABASE_URL") {
		t.Fatalf("config check: code %d\n%s", code, out)
	}
	if strings.Contains(out, "hunter2") || strings.Contains(out, "mailpw") {
		t.Errorf("config check printed a secret:\n%s", out)
	}
	code, out, _ = run(t, map[string]string{"THOT_ENV": "production"}, "", "config", "check")
	if code == 0 || !strings.Contains(out, "THOT_SECRET_KEY") {
		t.Errorf("invalid production config: code %d\n%s", code, out)
	}
}

func TestMigrateAndUsers(t *testing.T) {
	env := map[string]string{"THOT_DATA_DIR": t.TempDir()}
	code, out, errOut := run(t, env, "", "migrate", "status")
	if code != 0 || !strings.Contains(out, "PENDING") {
		t.Fatalf("status before migrate: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, env, "", "user", "list"); code == 0 || !strings.Contains(errOut, "migrate") {
		t.Errorf("user list on an unmigrated db should point at migrate: %d %s", code, errOut)
	}
	if code, out, errOut = run(t, env, "", "migrate", "up"); code != 0 || !strings.Contains(out, "schema current") {
		t.Fatalf("migrate up: %d %s %s", code, out, errOut)
	}
	if code, out, _ = run(t, env, "", "migrate", "status"); code != 0 || !strings.Contains(out, "0 pending") {
		t.Fatalf("status after migrate: %d %s", code, out)
	}
	code, out, errOut = run(t, env, "", "user", "create", "--email", "ana@example.org", "--first", "Ana", "--last", "Núñez", "--staff")
	if code != 0 || !strings.Contains(out, "temporary password (shown once): ") {
		t.Fatalf("user create: %d %s %s", code, out, errOut)
	}
	if code, _, errOut = run(t, env, "", "user", "create", "--email", "ANA@example.org"); code == 0 || !strings.Contains(errOut, "already exists") {
		t.Errorf("duplicate e-mail (other case): %d %s", code, errOut)
	}
	if code, _, errOut = run(t, env, "", "user", "create", "--email", "not-an-email"); code == 0 || !strings.Contains(errOut, "email") {
		t.Errorf("bad e-mail: %d %s", code, errOut)
	}
	if code, _, errOut = run(t, env, "12345678\n", "user", "set-password", "--password-stdin", "ana@example.org"); code == 0 || !strings.Contains(errOut, "numeric") {
		t.Errorf("weak password accepted: %d %s", code, errOut)
	}
	if code, out, errOut = run(t, env, "Zafiro-Azul-2026\n", "user", "set-password", "--password-stdin", "ana@example.org"); code != 0 || !strings.Contains(out, "password changed") {
		t.Errorf("set-password: %d %s %s", code, out, errOut)
	}
	code, out, _ = run(t, env, "", "user", "list")
	if code != 0 || !strings.Contains(out, "ana@example.org") || !strings.Contains(out, "Ana Núñez") {
		t.Errorf("user list: %d\n%s", code, out)
	}
	if code, _, _ = run(t, env, "", "migrate", "sideways"); code != 2 {
		t.Errorf("bad migrate action: code %d, want 2", code)
	}
}

var update = flag.Bool("update", false, "rewrite the generated parts of docs/ and README.md")

// TestOpenAPIDocumentIsCurrent fails when docs/openapi.json is stale.
// Regenerate the generated docs with: go test ./internal/cli -update
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	want, err := cli.OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "openapi.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/openapi.json is stale: run `go test ./internal/cli -update` (or `make docs`)")
	}
	if !bytes.Contains(want, []byte(`"openapi": "3.1.0"`)) {
		t.Error("not an OpenAPI 3.1 document")
	}
}

// TestRouteTableIsCurrent keeps docs/api.md's route table in step.
func TestRouteTableIsCurrent(t *testing.T) {
	var table bytes.Buffer
	if err := cli.RouteTable(&table); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "api.md")
	if *update {
		replaceBetween(t, path, "<!-- routes:begin -->\n", "<!-- routes:end -->", table.String())
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, table.Bytes()) {
		t.Fatal("docs/api.md's route table is stale: run `go test ./internal/cli -update` (or `make docs`)")
	}
	if bytes.Contains(table.Bytes(), []byte("UNDECLARED")) {
		t.Fatal("a route has no declared access rule")
	}
}

// TestReadmeConfigurationTable keeps README.md's configuration table in
// step with the code.
func TestReadmeConfigurationTable(t *testing.T) {
	var table bytes.Buffer
	config.WriteMarkdownTable(&table)
	path := filepath.Join("..", "..", "README.md")
	if *update {
		replaceBetween(t, path, "<!-- config:begin -->\n", "<!-- config:end -->", table.String())
	}
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, table.Bytes()) {
		t.Fatal("README.md's configuration table is stale: run `go test ./internal/cli -update` (or `make docs`)")
	}
}

// replaceBetween rewrites the text between two markers of a file.
func replaceBetween(t *testing.T, path, begin, end, content string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("%s: markers %q…%q not found", path, begin, end)
	}
	s = s[:i+len(begin)] + content + s[j:]
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
