package config

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdownTable writes the configuration reference table used in
// README.md (`thot config docs`), so the two cannot drift apart.
func WriteMarkdownTable(w io.Writer) {
	fmt.Fprintln(w, "| Variable | Legacy aliases | Default | Meaning |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, o := range options {
		aliases := "—"
		if len(o.names) > 1 {
			aliases = "`" + strings.Join(o.names[1:], "`, `") + "`"
		}
		def := o.def
		if def == "" {
			def = "(empty)"
		}
		help := o.help
		if o.secret {
			help += "; secret: also `" + o.names[0] + "_FILE`"
		}
		fmt.Fprintf(w, "| `%s` | %s | `%s` | %s |\n", o.names[0], aliases, def, help)
	}
}
