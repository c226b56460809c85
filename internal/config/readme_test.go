package config_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/thot-security/thot/internal/config"
)

// TestReadmeConfigurationTable keeps README.md's table in step with the
// code: regenerate it with `go run ./cmd/thot config docs`.
func TestReadmeConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	config.WriteMarkdownTable(&table)
	if !bytes.Contains(readme, table.Bytes()) {
		t.Fatal("README.md's configuration table is stale: paste the output of `go run ./cmd/thot config docs`")
	}
}
