package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// report is the outcome of a run (report.json).
type report struct {
	Date         string    `json:"date"`
	Label        string    `json:"label,omitempty"`
	ThotCommit   string    `json:"thot_commit"`
	LegacyCommit string    `json:"legacy_commit"`
	Database     string    `json:"database"`
	Results      []*result `json:"results"`
}

func (r *runner) report(co *checkout, o *options) *report {
	db := "SQLite"
	if o.databaseURL != "" {
		db = "PostgreSQL"
	}
	return &report{
		Date: time.Now().Format("2006-01-02 15:04 MST"), Label: o.label,
		ThotCommit: gitDescribe(o.thotDir), LegacyCommit: co.commit, Database: db, Results: r.results,
	}
}

// gitDescribe is the tree's commit, marked when the tree has changes.
func gitDescribe(dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	// The summaries under results/ are what a run writes: they do not
	// make the tree it tested a different one.
	if st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no", "--", ".", ":!e2e/legacyclients/results").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " (with uncommitted changes)"
	}
	return c
}

func (rep *report) failed() int {
	n := 0
	for _, r := range rep.Results {
		if r.Status != "OK" {
			n++
		}
	}
	return n
}

func (rep *report) write(o *options) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.outDir, "report.json"), b, 0o644); err != nil {
		return err
	}
	if o.summary == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.summary), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.summary, []byte(rep.markdown()), 0o644)
}

// renderSummary writes the markdown summary of a saved report.json.
func renderSummary(reportPath, summary string) error {
	b, err := os.ReadFile(reportPath)
	if err != nil {
		return err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %w", reportPath, err)
	}
	return os.WriteFile(summary, []byte(rep.markdown()), 0o644)
}

func (rep *report) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tPAGE / FLOW\tRESULT\tREASONS")
	for _, r := range rep.Results {
		reason := ""
		if len(r.Reasons) > 0 {
			reason = truncate(r.Reasons[0], 110)
			if len(r.Reasons) > 1 {
				reason += fmt.Sprintf(" (+%d more)", len(r.Reasons)-1)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Client, r.Name, r.Status, reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d checks: %d OK, %d FAIL\n", len(rep.Results), len(rep.Results)-rep.failed(), rep.failed())
}

// markdown is the summary committed under results/.
func (rep *report) markdown() string {
	var b strings.Builder
	title := "Legacy clients against thot"
	if rep.Label != "" {
		title += ": " + rep.Label
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	fmt.Fprintf(&b, "- Date: %s\n- thot commit: `%s`\n- Legacy checkout: branch development, commit `%s`\n- Database: %s\n",
		rep.Date, rep.ThotCommit, rep.LegacyCommit, rep.Database)
	fmt.Fprintf(&b, "- Result: %d checks, %d OK, %d FAIL\n\n", len(rep.Results), len(rep.Results)-rep.failed(), rep.failed())
	b.WriteString("Written by `go run ./e2e/legacyclients` (see README.md). A failing check shows up to three reasons here; `report.json` in the run directory has all of them, with the screenshots.\n\n")
	b.WriteString("| Client | Page / flow | Result | Reasons |\n| --- | --- | --- | --- |\n")
	for _, r := range rep.Results {
		var cell []string
		for i, s := range r.Reasons {
			if i == 3 {
				cell = append(cell, fmt.Sprintf("(+%d more in report.json)", len(r.Reasons)-i))
				break
			}
			cell = append(cell, mdCell(truncate(s, 200)))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.Client, mdCell(r.Name), r.Status, strings.Join(cell, "<br>"))
	}

	// The failing thot requests, once each, with the checks that made them:
	// what the fixes have to address.
	type key struct {
		status       int64
		method, path string
		body         string
	}
	seen := map[key][]string{}
	var order []key
	for _, r := range rep.Results {
		for _, f := range r.HTTP {
			if f.Target != "thot" || knownHTTP(f, r.Known) || knownHTTP(f, r.Expected) {
				continue
			}
			k := key{f.Status, f.Method, normalizePath(f.Path), truncate(strings.Join(strings.Fields(f.Body), " "), 160)}
			if len(seen[k]) == 0 {
				order = append(order, k)
			}
			if n := r.Client + ": " + r.Name; !contains(seen[k], n) {
				seen[k] = append(seen[k], n)
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].path < order[j].path })
	if len(order) > 0 {
		b.WriteString("\n## Failing requests to thot\n\n| Status | Request | Answer (excerpt) | Seen in |\n| --- | --- | --- | --- |\n")
		for _, k := range order {
			fmt.Fprintf(&b, "| %d | `%s %s` | %s | %s |\n", k.status, k.method, mdCell(k.path), mdCell(k.body), mdCell(strings.Join(seen[k], ", ")))
		}
	}
	writeNotes(&b, rep.Results, func(r *result) []string { return r.Known },
		"Known: outside issue 9, or legacy client bugs that fail against the legacy backend too (not counted as failures)", "Failure")
	writeNotes(&b, rep.Results, func(r *result) []string { return r.Expected },
		"Expected answers, checked by the flow (not failures)", "Answer")
	return b.String()
}

// writeNotes lists notes of the results once each (without the repeat
// counts), with the checks they showed in.
func writeNotes(b *strings.Builder, results []*result, notes func(*result) []string, title, column string) {
	in := map[string][]string{}
	var order []string
	for _, r := range results {
		for _, k := range notes(r) {
			k = repeats.ReplaceAllString(truncate(k, 160), "")
			if len(in[k]) == 0 {
				order = append(order, k)
			}
			if n := r.Client + ": " + r.Name; !contains(in[k], n) {
				in[k] = append(in[k], n)
			}
		}
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## %s\n\n| %s | Seen in |\n| --- | --- |\n", title, column)
	for _, k := range order {
		fmt.Fprintf(b, "| %s | %s |\n", mdCell(k), mdCell(strings.Join(in[k], ", ")))
	}
}

var repeats = regexp.MustCompile(` \(×\d+\)$`)

// knownHTTP reports whether the failure is one of the check's known ones.
func knownHTTP(f httpFailure, known []string) bool {
	for _, k := range known {
		if strings.HasPrefix(k, "HTTP "+f.String()) {
			return true
		}
	}
	return false
}

var tokenParam = regexp.MustCompile(`token=[^&]+`)

// normalizePath hides ids and form-link tokens so that the same call on
// different records groups together.
func normalizePath(p string) string {
	p = tokenParam.ReplaceAllString(p, "token={token}")
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if isID(s) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

func isID(s string) bool {
	if s == "" {
		return false
	}
	if len(s) == 36 && strings.Count(s, "-") == 4 {
		return true
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
