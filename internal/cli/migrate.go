package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/thot-security/thot/internal/database"
)

func runMigrate(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "migrate", "migrate [up|status]")
	if err := parse(fs, args); err != nil {
		return err
	}
	action := "up"
	if fs.NArg() > 0 {
		action = fs.Arg(0)
	}
	if action != "up" && action != "status" {
		fmt.Fprintf(env.Stderr, "thot migrate: unknown action %q (want up or status)\n", action)
		return errUsage
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	db, err := openDB(ctx, cfgURL(cfg.IsSQLite(), cfg.DatabaseURL), cfg.SQLitePath(), cfg.DBMaxConns)
	if err != nil {
		return err
	}
	defer db.Close()
	if action == "status" {
		st, err := db.Status(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "ENGINE\t%s\n", db.Engine)
		fmt.Fprintln(tw, "STATE\tVERSION\tMIGRATION\tAPPLIED AT")
		pending := 0
		for _, s := range st {
			state, at := "applied", ""
			if !s.Applied {
				state = "PENDING"
				pending++
			}
			if !s.AppliedAt.IsZero() {
				at = s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", state, s.Version, s.Source, at)
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "%d pending\n", pending)
		return nil
	}
	res, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, r := range res {
		fmt.Fprintf(env.Stdout, "applied %s (%s)\n", r.Source, r.Duration.Round(1e5))
	}
	fmt.Fprintf(env.Stdout, "schema current on %s: %d step(s) applied\n", db.Engine, len(res))
	return nil
}

func cfgURL(sqlite bool, url string) string {
	if sqlite {
		return ""
	}
	return url
}

func openDB(ctx context.Context, url, sqlitePath string, maxConns int) (*database.DB, error) {
	return database.Open(ctx, database.Options{URL: url, SQLitePath: sqlitePath, MaxConns: maxConns})
}
