// Command benchseed migrates a database and loads the custody benchmark
// data set into it (see package benchseed). It is for benchmarks only:
//
//	go run ./internal/benchseed/cmd/benchseed -url postgres://postgres@127.0.0.1:5432/thot_bench
//	go run ./internal/benchseed/cmd/benchseed -sqlite /tmp/thot/thot.db -scale small
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/thot-security/thot/internal/benchseed"
	"github.com/thot-security/thot/internal/database"
)

func main() {
	url := flag.String("url", "", "PostgreSQL URL (postgres://…)")
	path := flag.String("sqlite", "", "SQLite file (when -url is empty)")
	scale := flag.String("scale", "full", "full (the baseline's volume) or small (1/100)")
	flag.Parse()
	if err := run(*url, *path, *scale); err != nil {
		fmt.Fprintln(os.Stderr, "benchseed:", err)
		os.Exit(1)
	}
}

func run(url, path, scale string) error {
	if url == "" && path == "" {
		return fmt.Errorf("give -url or -sqlite")
	}
	opts := benchseed.Full()
	switch scale {
	case "full":
	case "small":
		opts = benchseed.Small()
	default:
		return fmt.Errorf("-scale must be full or small, not %q", scale)
	}
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: url, SQLitePath: path})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	start := time.Now()
	if err := benchseed.Seed(ctx, db, opts); err != nil {
		return err
	}
	p := benchseed.NewPlan(opts)
	fmt.Printf("seeded %d products, %d items, %d documents, %d movements in %s\n",
		len(p.Productos), len(p.Items), len(p.Albaranes), len(p.Movimientos), time.Since(start).Round(time.Millisecond))
	return nil
}
