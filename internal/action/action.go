// Package action is ghcr-prune as a GitHub Action: it reads the inputs,
// runs the pipeline (load, decide, apply) and writes the job summary, the
// plan file and the outputs.
package action

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/ghcr"
	"github.com/ghcr-prune/ghcr-prune/prune"
	"github.com/ghcr-prune/ghcr-prune/retention"
)

// Setup is what a run knows besides its inputs.
type Setup struct {
	Metadata Metadata // action.yml: the inputs and their defaults
	Tool     string   // the build, for the summary's last line
	Now      time.Time

	// wrap, when set, wraps the registry the run uses: tests inject faults
	// through it.
	wrap func(prune.Registry) prune.Registry
}

// Run is the whole action: inputs in; job summary, plan file and outputs out.
func Run(ctx context.Context, a *githubactions.Action, s Setup) (*prune.Report, error) {
	log := NewLogger(a)
	cfg, err := parseInputs(a, s.Metadata.Defaults())
	if err != nil {
		return nil, err
	}
	if cfg.token != "" {
		a.AddMask(cfg.token)
	}
	for _, w := range cfg.references.warnings {
		log.Warningf("%s", w)
	}
	client, err := ghcr.New(ctx, ghcr.Config{Token: cfg.token, Owner: cfg.owner, APIURL: cfg.apiURL, RegistryURL: cfg.registryURL, Use: tokenUse(cfg)})
	if err != nil {
		return nil, err
	}
	log.Infof("Token: %s", client.Token())
	if cfg.restore != nil {
		return nil, restore(ctx, log, client, cfg, s.Tool)
	}
	pkgs, infos, err := resolvePackages(ctx, client, cfg.packages, cfg.packagesRegex)
	if err != nil {
		return nil, err
	}
	log.SetOutput("packages-json", packagesJSON(pkgs))
	if cfg.listPackages {
		listOnly(log, client.Owner(), pkgs, s.Tool)
		return nil, nil
	}
	return prunePackages(ctx, log, client, cfg, pkgs, newKeptListings(log, cfg.cacheDir, client.Owner(), infos), s)
}

// listOnlyRows caps the names a list-packages summary shows well under
// GitHub's summary limit; packages-json holds them all.
const listOnlyRows = 2000

// listOnly is a list-packages run: the packages resolved, named in the log
// and a short job summary, and nothing read of them.
func listOnly(log *Logger, owner string, pkgs []string, tool string) {
	log.Infof("%d packages of %s: %s", len(pkgs), owner, strings.Join(pkgs, ", "))
	// GitHub's package names and logins hold no backtick; the names are
	// shown as code all the same, with any backtick dropped.
	code := func(s string) string { return "`" + strings.ReplaceAll(s, "`", "") + "`" }
	var b strings.Builder
	fmt.Fprintf(&b, "## ghcr-prune: %s of %s\n\nlist-packages is true: the packages were resolved (output `packages-json`) and no version was read.\n\n", retention.Plural(len(pkgs), "package"), code(owner))
	for i, p := range pkgs {
		if i == listOnlyRows {
			fmt.Fprintf(&b, "- … and %d more\n", len(pkgs)-listOnlyRows)
			break
		}
		fmt.Fprintf(&b, "- %s\n", code(p))
	}
	fmt.Fprintf(&b, "\n%s\n", tool)
	log.AddStepSummary(b.String())
}

// prunePackages is the run proper, once the inputs are read and the
// packages known: plan and prune them through the manifest cache, then
// write the results.
func prunePackages(ctx context.Context, log *Logger, client *ghcr.Client, cfg config, pkgs []string, kept *keptListings, s Setup) (report *prune.Report, err error) {
	cache, store := openCache(ctx, log, cfg.cacheDir, client.Owner(), pkgs, kept)
	prune.ProgressFrom(ctx).CountCache(func() int { return cache.Stats().Hits })
	var reg prune.Registry = newCachedClient(client, cache)
	if s.wrap != nil {
		reg = s.wrap(reg)
	}
	report, stopped := runPackages(ctx, reg, pkgs, cfg, s.Now, log, kept.listings())
	// restore-from needs the owner the plan file names.
	report.Owner, report.Inputs, report.Tool = client.Owner(), cfg.inputs, s.Tool
	// The deletions are over: whatever goes wrong from here on, a panic
	// included, the results are written, so that the run can be undone.
	written := false
	defer func() {
		if p := recover(); p != nil {
			if !written {
				writeResults(log, report) //nolint:errcheck // the panic is the error to report
			}
			err = fmt.Errorf("internal error after the deletions (the plan file and deleted-ids record them): %v", p)
		}
	}()
	// The cache is a convenience: not even a panic in saving it may keep
	// the results from being written.
	if err := guard("the manifest cache", func() error { saveCache(ctx, log, cache, store); return nil }); err != nil {
		log.Warningf("%v", err)
	}
	report.TokenKind = client.Token().String()
	report.Notes = cfg.references.notes()
	compare(cfg, report)
	written = true
	if err := errors.Join(stopped, writeResults(log, report)); err != nil {
		return report, err
	}
	if failed := report.FailedPackages(); len(failed) > 0 {
		return report, fmt.Errorf("failed for %s; see the job summary", strings.Join(failed, ", "))
	}
	if n := report.BrokenAfter(); n > 0 && cfg.failOnBroken {
		return report, fmt.Errorf("validation found %d broken images or orphaned referrers, and fail-on-broken is true; see the job summary", n)
	}
	return report, nil
}

// tokenUse is what the run asks of its token, for the preflight in
// ghcr.New to refuse a token that cannot do it before anything could fail
// halfway.
func tokenUse(cfg config) ghcr.Use {
	u := ghcr.Use{Wildcard: cfg.packagesRegex}
	for _, p := range cfg.packages {
		u.Wildcard = u.Wildcard || strings.ContainsAny(p, "*?")
	}
	if !cfg.dryRun && !cfg.listPackages {
		u.Restores = cfg.restore != nil
		u.Deletes = cfg.restore == nil
	}
	return u
}

// runPackages plans the packages concurrently and runs prune on them one
// at a time, so that a panic (a bug, or hostile data a check missed) loses
// no more than the package it happened in: what was deleted there is
// rebuilt from the deletions sent, and the packages before it keep their
// whole report. After a panic no further package is run; stopped says why.
func runPackages(ctx context.Context, reg prune.Registry, pkgs []string, cfg config, now time.Time, log *Logger, listings prune.Listings) (report *prune.Report, stopped error) {
	opts := prune.Options{DryRun: cfg.dryRun, ApplyPlan: cfg.applyPlan, Validate: cfg.validate, MaxDeletions: cfg.maxDeletions, Listings: listings}
	// Over no package, prune.Run only makes the report's header: prune
	// stays the one place that knows what goes in it.
	report = prune.Run(ctx, reg, nil, cfg.policy, now, opts, log)
	plans := prune.PlanAhead(ctx, reg, pkgs, cfg.policy, now, opts)
	defer plans.Stop()
	for _, pkg := range pkgs {
		sent := &sentDeletions{Registry: reg, pkg: pkg}
		pr, err := runPackage(ctx, sent, plans.Next(), log)
		report.Packages = append(report.Packages, pr)
		if err != nil {
			return report, err
		}
	}
	return report, nil
}

// runPackage applies one package's plan, with a panic recovered into an
// error and a report of what was sent.
func runPackage(ctx context.Context, sent *sentDeletions, planned *prune.Planned, log *Logger) (pr prune.PackageReport, err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		log.EndGroup()
		log.Group("internal error in " + sent.pkg)
		for _, line := range strings.Split(strings.TrimSpace(string(debug.Stack())), "\n") {
			log.Infof("%s", line)
		}
		log.EndGroup()
		err = fmt.Errorf("internal error in %s, the run stopped (%d deletions sent; the plan file and deleted-ids record them): %v", sent.pkg, sent.count(), p)
		pr = sent.report(err)
	}()
	// Planning listed the package through the shared registry: the
	// deletions sent must still be named by digest in a report rebuilt
	// after a panic, for restore-from.
	sent.remember(planned.Versions(), true)
	return planned.Apply(ctx, sent, log), nil
}

// sentDeletions is the registry of one package's run. It records every
// deletion sent, and the versions listed to name them by digest, so that a
// run that stops in a panic can still write what it deleted.
type sentDeletions struct {
	prune.Registry
	pkg string

	mu sync.Mutex
	// listings are the listings seen, oldest first, held as the slices
	// the run holds anyway: a copy of every version by id would be megabytes at
	// 100,000 versions, for a dry run that never looks one up.
	listings [][]retention.Version
	byID     map[int64]retention.Version // built at the first deletion, then kept current
	versions int                         // in the last full listing
	sent     []prune.Deletion            // in the order sent
}

func (s *sentDeletions) Versions(ctx context.Context, pkg string) ([]retention.Version, error) {
	vs, err := s.Registry.Versions(ctx, pkg)
	if err == nil {
		s.remember(vs, true)
	}
	return vs, err
}

func (s *sentDeletions) NewestVersions(ctx context.Context, pkg string) ([]retention.Version, error) {
	vs, err := s.Registry.NewestVersions(ctx, pkg)
	if err == nil {
		s.remember(vs, false)
	}
	return vs, err
}

func (s *sentDeletions) remember(vs []retention.Version, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byID != nil {
		indexVersions(s.byID, vs)
	} else {
		s.listings = append(s.listings, vs)
	}
	if full {
		s.versions = len(vs)
	}
}

// listedLocked is version id as last listed, the zero Version when it never
// was. s.mu is held.
func (s *sentDeletions) listedLocked(id int64) retention.Version {
	if s.byID == nil {
		s.byID = map[int64]retention.Version{}
		for _, vs := range s.listings {
			indexVersions(s.byID, vs)
		}
		s.listings = nil
	}
	return s.byID[id]
}

func indexVersions(byID map[int64]retention.Version, vs []retention.Version) {
	for _, v := range vs {
		byID[v.ID] = v
	}
}

// DeleteVersion records the deletion before it is sent: a panic while the
// request is out leaves it recorded as possibly made, so that deleted-ids
// offers it to restore-from (restoring a version that was never deleted
// only fails).
func (s *sentDeletions) DeleteVersion(ctx context.Context, pkg string, id int64) error {
	s.mu.Lock()
	v := s.listedLocked(id)
	d := prune.Deletion{
		Decision: retention.Decision{Version: &retention.Version{ID: id, Digest: v.Digest, Tags: v.Tags, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}, Action: retention.Delete, Reason: "deletion sent before the run stopped"},
		Outcome:  prune.Deleted,
		Detail:   "the run stopped while this deletion was in flight; it may not have been made",
	}
	i := len(s.sent)
	s.sent = append(s.sent, d)
	s.mu.Unlock()
	err := s.Registry.DeleteVersion(ctx, pkg, id)
	var refused *prune.RefusedError
	outcome, detail := prune.Deleted, ""
	switch {
	case err == nil:
	case errors.Is(err, prune.ErrGone):
		outcome = prune.AlreadyGone
	case errors.As(err, &refused):
		outcome, detail = prune.Refused, refused.Message
	default:
		outcome, detail = prune.Failed, err.Error()
	}
	s.mu.Lock()
	s.sent[i].Outcome, s.sent[i].Detail = outcome, detail
	s.mu.Unlock()
	return err
}

func (s *sentDeletions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent)
}

// report is the package's report from what was sent alone: the plan it
// shows is the deletions sent, each with its outcome.
func (s *sentDeletions) report(err error) prune.PackageReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	plan := &retention.Plan{Package: s.pkg}
	res := &prune.Result{Err: err}
	for _, d := range s.sent {
		plan.Delete = append(plan.Delete, d.Decision)
		res.Deletions = append(res.Deletions, d)
	}
	return prune.PackageReport{Package: s.pkg, Versions: s.versions, Plan: plan, Result: res, Err: err}
}
