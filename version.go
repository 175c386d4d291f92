package main

import (
	"fmt"
	"runtime/debug"
)

// version and commit are set by the release build (-ldflags -X); a binary
// built another way (go install, go build) takes them from its build info.
var (
	version = ""
	commit  = ""
)

// buildVersion is the version and commit this binary was built from.
func buildVersion() (v, c string) {
	v, c = version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

// toolName names the build in summaries and in -version.
func toolName() string {
	v, c := buildVersion()
	if len(c) > 12 {
		c = c[:12]
	}
	return fmt.Sprintf("ghcr-prune %s, commit %s", v, c)
}
