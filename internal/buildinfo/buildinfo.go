// Package buildinfo holds the version stamped into the binary at build
// time (-ldflags -X), falling back to the module build information.
package buildinfo

import "runtime/debug"

// Set by the Makefile / Dockerfile with -ldflags -X.
var (
	Version = ""
	Commit  = ""
)

// Get returns the version and commit, reading VCS stamps when not set.
func Get() (version, commit string) {
	version, commit = Version, Commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return version, commit
}
