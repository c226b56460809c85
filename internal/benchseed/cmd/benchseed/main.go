// Command benchseed migrates a database and loads the benchmark data sets
// into it (see package benchseed): custody (20k items, 100k movements, 5k
// documents) and/or HPS (50,000 requests across 200 teams). It is for
// benchmarks only:
//
//	go run ./internal/benchseed/cmd/benchseed -url postgres://postgres@127.0.0.1:5432/thot_bench
//	go run ./internal/benchseed/cmd/benchseed -url … -data hps
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
	data := flag.String("data", "custody", "custody, hps or all")
	flag.Parse()
	if err := run(*url, *path, *scale, *data); err != nil {
		fmt.Fprintln(os.Stderr, "benchseed:", err)
		os.Exit(1)
	}
}

func run(url, path, scale, data string) error {
	if url == "" && path == "" {
		return fmt.Errorf("give -url or -sqlite")
	}
	opts, hps := benchseed.Full(), benchseed.HPSFull()
	switch scale {
	case "full":
	case "small":
		opts, hps = benchseed.Small(), benchseed.HPSSmall()
	default:
		return fmt.Errorf("-scale must be full or small, not %q", scale)
	}
	if data != "custody" && data != "hps" && data != "all" {
		return fmt.Errorf("-data must be custody, hps or all, not %q", data)
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
	if data != "hps" {
		start := time.Now()
		if err := benchseed.Seed(ctx, db, opts); err != nil {
			return err
		}
		p := benchseed.NewPlan(opts)
		fmt.Printf("seeded %d products, %d items, %d documents, %d movements in %s\n",
			len(p.Productos), len(p.Items), len(p.Albaranes), len(p.Movimientos), time.Since(start).Round(time.Millisecond))
	}
	if data != "custody" {
		start := time.Now()
		if err := benchseed.SeedHPS(ctx, db, hps); err != nil {
			return err
		}
		fmt.Printf("seeded %d HPS requests across %d teams of %d (lead of team 1: user %d, a member: user %d) in %s\n",
			hps.Requests(), hps.Teams, hps.MembersPerTeam, hps.HPSUserID(0, 0), hps.HPSUserID(0, 1), time.Since(start).Round(time.Millisecond))
	}
	return nil
}
