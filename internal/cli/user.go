package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/sqlstore"
)

func runUser(ctx context.Context, env Env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(env.Stdout, "Usage: thot user create|set-password|list [flags]")
		fmt.Fprintln(env.Stdout, "  create --email E [--username U] [--first F] [--last L] [--staff] [--superuser] [--password-stdin]")
		fmt.Fprintln(env.Stdout, "  set-password [--password-stdin] EMAIL_OR_USERNAME")
		fmt.Fprintln(env.Stdout, "  list")
		fmt.Fprintln(env.Stdout, "Without --password-stdin a temporary password is generated and printed once.")
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		return userCreate(ctx, env, args)
	case "set-password":
		return userSetPassword(ctx, env, args)
	case "list":
		return userList(ctx, env, args)
	}
	fmt.Fprintf(env.Stderr, "thot user: unknown action %q\n", sub)
	return errUsage
}

func identityService(ctx context.Context, env Env) (*identity.Service, func(), error) {
	cfg, err := loadConfig(env)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(ctx, cfgURL(cfg.IsSQLite(), cfg.DatabaseURL), cfg.SQLitePath(), cfg.DBMaxConns)
	if err != nil {
		return nil, nil, err
	}
	ok, err := db.Current(ctx)
	if err != nil || !ok {
		db.Close()
		return nil, nil, errors.New("database schema is not current: run `thot migrate` first")
	}
	return identity.NewService(sqlstore.New(db), identity.NewHasher(cfg.PasswordIter)), func() { db.Close() }, nil
}

// readPassword takes the first line of stdin.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func userCreate(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "user create", "user create --email E [flags]")
	email := fs.String("email", "", "e-mail address (required)")
	username := fs.String("username", "", "username (default: the e-mail)")
	first := fs.String("first", "", "first name")
	last := fs.String("last", "", "last name")
	staff := fs.Bool("staff", false, "staff user (admin pages)")
	super := fs.Bool("superuser", false, "superuser (all permissions)")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *email == "" {
		fmt.Fprintln(env.Stderr, "thot user create: --email is required")
		return errUsage
	}
	pw, generated := "", false
	if *stdin {
		var err error
		if pw, err = readPassword(env.Stdin); err != nil {
			return err
		}
	} else {
		pw, generated = identity.TemporaryPassword(), true
	}
	svc, done, err := identityService(ctx, env)
	if err != nil {
		return err
	}
	defer done()
	u, err := svc.CreateUser(ctx, identity.NewUser{Username: *username, Email: *email, FirstName: *first, LastName: *last, Password: pw, IsStaff: *staff, IsSuperuser: *super})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(env.Stdout, "created user %d (%s)\n", u.ID, u.Email)
	if generated {
		fmt.Fprintf(env.Stdout, "temporary password (shown once): %s\n", pw)
	}
	return nil
}

func userSetPassword(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "user set-password", "user set-password [--password-stdin] EMAIL_OR_USERNAME")
	stdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "thot user set-password: give exactly one e-mail or username")
		return errUsage
	}
	pw, generated := "", false
	if *stdin {
		var err error
		if pw, err = readPassword(env.Stdin); err != nil {
			return err
		}
	} else {
		pw, generated = identity.TemporaryPassword(), true
	}
	svc, done, err := identityService(ctx, env)
	if err != nil {
		return err
	}
	defer done()
	if err := svc.SetPassword(ctx, fs.Arg(0), pw); err != nil {
		return describe(err)
	}
	fmt.Fprintf(env.Stdout, "password changed for %s\n", fs.Arg(0))
	if generated {
		fmt.Fprintf(env.Stdout, "temporary password (shown once): %s\n", pw)
	}
	return nil
}

func userList(ctx context.Context, env Env, args []string) error {
	fs := flags(env, "user list", "user list")
	if err := parse(fs, args); err != nil {
		return err
	}
	svc, done, err := identityService(ctx, env)
	if err != nil {
		return err
	}
	defer done()
	users, err := svc.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tE-MAIL\tNAME\tACTIVE\tSTAFF\tSUPERUSER")
	for _, u := range users {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%v\t%v\n", u.ID, u.Username, u.Email, u.FullName(), u.IsActive, u.IsStaff, u.IsSuperuser)
	}
	return tw.Flush()
}

// describe turns a domain error into a readable CLI message.
func describe(err error) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	var b strings.Builder
	if e.Message != "" {
		b.WriteString(e.Message)
	}
	for k, v := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %v", k, v)
	}
	return errors.New(strings.TrimPrefix(b.String(), "\n"))
}
