// Command release holds the parts of the release workflow
// (.github/workflows/release.yml) that are worth testing: which tags a
// version moves, pinning action.yml's image to the pushed digest, and the
// release notes. It is run as `go run ./internal/release <subcommand>`.
//
//	tags [-existing "v1.0.0 v1.1.0 ..."] vX.Y.Z[-pre]
//	    prints the tags to create or move, space separated:
//	    "v1.2.3 v1.2 v1" for a release, "v1.3.0-rc.1" for a pre-release.
//	    With -existing (the repository's tags), a floating tag (v1.2, v1)
//	    moves only if VERSION is not older than a release already in its line,
//	    so patching an old line never moves v1 backwards.
//	pin -image ghcr.io/OWNER/NAME@sha256:HEX -file action.yml
//	    rewrites runs.image to docker://REF, changing only that line.
//	notes -image REF -repo OWNER/REPO -version vX.Y.Z [-commit SHA]
//	    prints the GitHub release notes (digest and verify commands).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: release tags|pin|notes ...")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet(sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	switch sub {
	case "tags":
		existing := fs.String("existing", "", "whitespace separated existing tags")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return errors.New("usage: release tags [-existing TAGS] vX.Y.Z[-pre]")
		}
		tags, err := Tags(fs.Arg(0), *existing)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, strings.Join(tags, " "))
		return err
	case "pin":
		image := fs.String("image", "", "ghcr.io/OWNER/NAME@sha256:HEX")
		file := fs.String("file", "action.yml", "action metadata file")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return fmt.Errorf("pin: unexpected arguments %q", fs.Args())
		}
		return PinFile(*file, *image)
	case "notes":
		image := fs.String("image", "", "ghcr.io/OWNER/NAME@sha256:HEX")
		repo := fs.String("repo", "", "OWNER/REPO")
		version := fs.String("version", "", "vX.Y.Z")
		commit := fs.String("commit", "", "commit the version tag points at")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 0 {
			return fmt.Errorf("notes: unexpected arguments %q", fs.Args())
		}
		s, err := Notes(*image, *repo, *version, *commit)
		if err != nil {
			return err
		}
		_, err = io.WriteString(out, s)
		return err
	default:
		return fmt.Errorf("unknown subcommand %q (want tags, pin or notes)", sub)
	}
}
