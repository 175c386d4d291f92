// Package cli is ghcr-prune on the command line: the action's pipeline with
// its inputs from flags, the plan as terminal text, a question before
// anything is deleted, and progress on long work.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/internal/action"
	"github.com/ghcr-prune/ghcr-prune/prune"
)

// Env is what the command line takes from its process; tests give their
// own.
type Env struct {
	Args           []string // without the program's name
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// StdinTerminal, StdoutTerminal and StderrTerminal say which of the
	// three is a terminal: a question needs one to be answered on, colour
	// and a live progress line need one to be shown on.
	StdinTerminal, StdoutTerminal, StderrTerminal bool
	// GHToken runs 'gh auth token'; nil runs it when gh is installed.
	GHToken func(context.Context) (string, error)
	// ProgressEvery is how often progress is reported; 0 is
	// ProgressInterval.
	ProgressEvery time.Duration
	Setup         action.Setup
}

// IsCommandLine says whether the binary runs as the command line: with
// arguments, or outside GitHub Actions. The Docker action runs with neither,
// and stays exactly the action.
func IsCommandLine(args []string, getenv func(string) string) bool {
	return len(args) > 0 || getenv("GITHUB_ACTIONS") != "true"
}

// Main runs the command line and returns its exit status: 0 done, 1 failed,
// 2 a command line that cannot run, 130 stopped by Ctrl-C.
func Main(ctx context.Context, env Env) int {
	err := run(ctx, env)
	if err == nil {
		return 0
	}
	fmt.Fprintln(env.Stderr, "ghcr-prune: "+printableLine(err.Error()))
	var usage *usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(env.Stderr, "Run ghcr-prune --help for every flag.")
		return 2
	case errors.Is(context.Cause(ctx), ErrInterrupted):
		return 130
	}
	return 1
}

func run(ctx context.Context, env Env) error {
	cmd, err := parseArgs(env.Args, env.Setup.Metadata)
	switch {
	case err != nil:
		return err
	case cmd.help:
		writeHelp(env.Stdout, env.Setup.Metadata)
		return nil
	case cmd.version:
		fmt.Fprintln(env.Stdout, env.Setup.Tool)
		return nil
	case cmd.serve && !cmd.demo:
		return usagef("--serve goes with --demo")
	case cmd.demo && cmd.serve:
		return action.ServeDemo(ctx, env.Stdout, env.Setup)
	case cmd.demo:
		return action.Demo(ctx, env.Stdout, env.Setup)
	case len(env.Args) == 0:
		return usagef("no flags given\n\n%s", usageLine)
	}
	if err := cmd.checkTarget(); err != nil {
		return err
	}
	deletes := isFalse(cmd.inputs["dry-run"]) && cmd.inputs["restore-from"] == ""
	if deletes && !cmd.yes && !env.StdinTerminal {
		// Refused before any request: nobody is there to answer.
		return usagef("--dry-run=false deletes, and standard input is not a terminal to confirm on: give --yes to delete without a question")
	}
	token, err := lookupToken(ctx, env.Getenv, env.GHToken)
	if err != nil {
		return err
	}
	r := &runner{env: env, cmd: cmd, token: token}
	if deletes && !cmd.yes {
		return r.planConfirmApply(ctx)
	}
	report, err := r.run(ctx, cmd.inputs)
	if err == nil && report != nil && report.DryRun {
		if _, any := deleteQuestion(report); any {
			fmt.Fprintln(env.Stdout, "\nNothing was deleted. To delete what is listed, run again with --dry-run=false.")
		}
	}
	return err
}

// isFalse reads a boolean input as the action does.
func isFalse(v string) bool {
	switch strings.TrimSpace(v) {
	case "false", "False", "FALSE":
		return true
	}
	return false
}

// runner runs the action's pipeline from the command line.
type runner struct {
	env   Env
	cmd   command
	token string
}

// planConfirmApply is --dry-run=false on a terminal: plan (a dry run) and
// show the plan, ask, then apply exactly that plan. The applied run takes
// the plan just written as apply-plan, which can only narrow it: whatever
// changed since is skipped and reported, never added.
func (r *runner) planConfirmApply(ctx context.Context) error {
	dry := maps.Clone(r.cmd.inputs)
	dry["dry-run"] = "true"
	report, err := r.run(ctx, dry)
	if err != nil {
		return fmt.Errorf("%w; nothing was deleted", err)
	}
	question, any := deleteQuestion(report)
	if !any {
		fmt.Fprintln(r.env.Stdout, "\nNothing to delete.")
		return nil
	}
	fmt.Fprintln(r.env.Stdout)
	if !confirm(ctx, r.env.Stdin, r.env.Stderr, question) {
		fmt.Fprintln(r.env.Stdout, "Nothing was deleted.")
		if err := context.Cause(ctx); err != nil {
			return err
		}
		return nil
	}
	plan, err := filepath.Abs(r.cmd.plan)
	if err != nil {
		return err
	}
	apply := maps.Clone(r.cmd.inputs)
	apply["dry-run"] = "false"
	apply["apply-plan"] = plan
	_, err = r.run(ctx, apply)
	return err
}

// run runs the action once with inputs, as a runner would but with the
// command line's files: the plan file at --plan, the job summary at
// --summary. The plan goes to stdout as text; the log's warnings and the
// progress to stderr.
func (r *runner) run(ctx context.Context, inputs map[string]string) (*prune.Report, error) {
	// The action writes its files in a directory of its own beside the
	// plan file, which is then moved into place in one step.
	dir, err := os.MkdirTemp(filepath.Dir(r.cmd.plan), ".ghcr-prune-")
	if err != nil {
		return nil, fmt.Errorf("--plan %s: %w", r.cmd.plan, err)
	}
	defer os.RemoveAll(dir)
	vars := r.vars(inputs, dir)
	for _, f := range []string{vars["GITHUB_STEP_SUMMARY"], vars["GITHUB_OUTPUT"]} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return nil, err
		}
	}
	status := NewStatus(r.env.Stderr, r.env.StderrTerminal, columns(r.env.Getenv))
	log := &actionLog{out: status, info: inputs["restore-from"] != "", token: r.token}
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return vars[k] }), githubactions.WithWriter(log))
	progress := prune.NewProgress(nil)
	stop := ShowProgress(progress, status, r.env.ProgressEvery)
	report, err := action.Run(prune.WithProgress(ctx, progress), a, r.env.Setup)
	stop()
	raw, _ := os.ReadFile(vars["GITHUB_OUTPUT"])
	outputs := action.ParseOutputs(string(raw))
	if report != nil {
		if werr := report.WriteText(r.env.Stdout, r.color()); werr != nil {
			return report, werr
		}
	}
	if path := outputs["plan-path"]; path != "" {
		if merr := os.Rename(path, r.cmd.plan); merr != nil {
			return report, errors.Join(err, fmt.Errorf("moving the plan file to %s: %w", r.cmd.plan, merr))
		}
		fmt.Fprintf(r.env.Stdout, "\nPlan file: %s\n", r.cmd.plan)
	}
	if r.cmd.summary != "" {
		fmt.Fprintf(r.env.Stdout, "Job summary: %s\n", r.cmd.summary)
	}
	if err != nil && r.token != "" {
		err = errors.New(strings.ReplaceAll(err.Error(), r.token, "***"))
	}
	return report, err
}

// vars are the environment the action sees: the inputs, the token, and
// the files a runner would give it. Nothing else of the process's
// environment reaches it, INPUT_* variables least of all.
func (r *runner) vars(inputs map[string]string, dir string) map[string]string {
	vars := map[string]string{
		"INPUT_TOKEN":         r.token,
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary.md"),
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"RUNNER_TEMP":         dir,
	}
	if r.cmd.summary != "" {
		vars["GITHUB_STEP_SUMMARY"] = r.cmd.summary
	}
	for name, v := range inputs {
		vars[inputVar(name)] = v
	}
	return vars
}

// inputVar is the variable a runner passes input name in.
func inputVar(name string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))
}

// color says whether stdout gets colour: on a terminal, unless NO_COLOR is
// set (no-color.org) or the terminal says it cannot.
func (r *runner) color() bool {
	return r.env.StdoutTerminal && r.env.Getenv("NO_COLOR") == "" && r.env.Getenv("TERM") != "dumb"
}

// columns is the terminal's width as the shell exports it, if it does.
func columns(getenv func(string) string) int {
	n, _ := strconv.Atoi(getenv("COLUMNS"))
	return n
}
