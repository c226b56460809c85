// Command thot is the single binary of the thot backend. See README.md.
package main

import (
	"context"
	"os"

	"github.com/thot-security/thot/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.OSEnv()))
}
