package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// confirm asks question on w and reads the answer from r: only y or yes
// confirms. No answer (end of input) and a stop (Ctrl-C) are a no.
func confirm(ctx context.Context, r io.Reader, w io.Writer, question string) bool {
	fmt.Fprint(w, question+" [y/N] ")
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true
		}
		if !strings.HasSuffix(line, "\n") {
			fmt.Fprintln(w)
		}
		return false
	case <-ctx.Done():
		fmt.Fprintln(w)
		return false
	}
}

// deleteQuestion asks about what a dry run planned: "Delete 5 versions of
// 1 package from acme? [y/N]", naming tag removals too when there are any.
// ok is false when the plan changes nothing.
func deleteQuestion(r *prune.Report) (question string, ok bool) {
	versions, packages, tags := 0, 0, 0
	for _, p := range r.Packages {
		if p.Plan == nil {
			continue
		}
		n := 0
		for _, u := range p.Plan.Untag {
			n += len(u.Tags)
		}
		if len(p.Plan.Delete) > 0 || n > 0 {
			packages++
		}
		versions += len(p.Plan.Delete)
		tags += n
	}
	if versions == 0 && tags == 0 {
		return "", false
	}
	q := fmt.Sprintf("Delete %s of %s from %s", retention.Plural(versions, "version"), retention.Plural(packages, "package"), r.Owner)
	if tags > 0 {
		q += " and remove " + retention.Plural(tags, "tag")
	}
	return q + "?", true
}
