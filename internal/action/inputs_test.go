package action

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/ghcr-prune/ghcr-prune/prune"
)

func parseWith(env map[string]string) (config, error) {
	base := map[string]string{"GITHUB_REPOSITORY": "acme/app", "GITHUB_REPOSITORY_OWNER": "acme"}
	for k, v := range env {
		base[k] = v
	}
	return parseInputs(githubactions.New(githubactions.WithGetenv(func(k string) string { return base[k] })), testMetadata.Defaults())
}

func TestParseInputsDefaults(t *testing.T) {
	cfg, err := parseWith(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.dryRun || cfg.owner != "acme" || !slices.Equal(cfg.packages, []string{"app"}) ||
		cfg.registryURL != "https://ghcr.io" || cfg.apiURL != "https://api.github.com" {
		t.Errorf("defaults: %+v", cfg)
	}
	p := cfg.policy
	if !p.DeleteUntagged || p.KeepNTagged != -1 || p.KeepNUntagged != -1 || p.OlderThan != 0 {
		t.Errorf("default policy: %+v", p)
	}
}

func TestParseInputsDeleteUntaggedDefault(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"INPUT_OLDER-THAN": "3d"}, true},
		{map[string]string{"INPUT_DELETE-TAGS": "pr-*"}, false},
		{map[string]string{"INPUT_KEEP-N-TAGGED": "3"}, false},
		{map[string]string{"INPUT_KEEP-N-UNTAGGED": "3"}, false},
		{map[string]string{"INPUT_DELETE-GHOST-IMAGES": "true"}, false},
		{map[string]string{"INPUT_DELETE-GHOST-IMAGES": "false"}, true},
		{map[string]string{"INPUT_DELETE-PARTIAL-IMAGES": "true"}, false},
		{map[string]string{"INPUT_DELETE-ORPHANED-IMAGES": "true"}, false},
		{map[string]string{"INPUT_DELETE-TAGS": "pr-*", "INPUT_DELETE-UNTAGGED": "true"}, true},
		{map[string]string{"INPUT_DELETE-UNTAGGED": "false"}, false},
	}
	for _, tt := range tests {
		cfg, err := parseWith(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.policy.DeleteUntagged != tt.want {
			t.Errorf("%v: delete-untagged %v, want %v", tt.env, cfg.policy.DeleteUntagged, tt.want)
		}
	}
}

func TestParseInputsErrorsNameTheInput(t *testing.T) {
	tests := map[string]map[string]string{
		"dry-run":         {"INPUT_DRY-RUN": "maybe"},
		"use-regex":       {"INPUT_USE-REGEX": "yes please"},
		"delete-untagged": {"INPUT_DELETE-UNTAGGED": "1"},
		"older-than":      {"INPUT_OLDER-THAN": "5 dayz"},
		"keep-n-tagged":   {"INPUT_KEEP-N-TAGGED": "-1"},
		"keep-n-untagged": {"INPUT_KEEP-N-UNTAGGED": "two"},
		"delete-tags":     {"INPUT_DELETE-TAGS": "pr-(", "INPUT_USE-REGEX": "true"},
		"exclude-tags":    {"INPUT_EXCLUDE-TAGS": "sha256:nothex"},
		"owner":           {"GITHUB_REPOSITORY_OWNER": ""},
		"packages":        {"GITHUB_REPOSITORY": ""},
	}
	for input, env := range tests {
		_, err := parseWith(env)
		if err == nil || !strings.Contains(err.Error(), input+":") {
			t.Errorf("%s: error %v does not name the input", input, err)
		}
	}
}

func TestParseInputsPackagesList(t *testing.T) {
	cfg, err := parseWith(map[string]string{"INPUT_PACKAGES": "app, team/app\nweb-*\n\n"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"app", "team/app", "web-*"}; !slices.Equal(cfg.packages, want) {
		t.Errorf("packages %v, want %v", cfg.packages, want)
	}
}

// dataaxiom/ghcr-cleanup-action workflows switch by changing uses: alone.
func TestParseInputsDataaxiomNames(t *testing.T) {
	cfg, err := parseWith(map[string]string{"INPUT_PACKAGE": "img", "INPUT_TAGS": "pr-*", "INPUT_EXPAND-PACKAGES": "true", "INPUT_LOG-LEVEL": "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.packages, []string{"img"}) || !cfg.policy.DeleteTags.MatchTag("pr-1") || cfg.policy.DeleteUntagged {
		t.Errorf("package/tags not taken as packages/delete-tags: %+v", cfg)
	}
	if cfg.inputs["delete-tags"] != "pr-*" || cfg.inputs["tags"] != "" {
		t.Errorf("the plan file records %v, want the canonical names", cfg.inputs)
	}
	cfg, err = parseWith(map[string]string{"INPUT_REPOSITORY": "acme/site"})
	if err != nil || !slices.Equal(cfg.packages, []string{"site"}) {
		t.Errorf("repository: packages %v, %v", cfg.packages, err)
	}
	for input, env := range map[string]map[string]string{
		"tags":            {"INPUT_TAGS": "a", "INPUT_DELETE-TAGS": "b"},
		"package":         {"INPUT_PACKAGE": "a", "INPUT_PACKAGES": "b"},
		"log-level":       {"INPUT_LOG-LEVEL": "verbose"},
		"expand-packages": {"INPUT_EXPAND-PACKAGES": "yes"},
	} {
		if _, err := parseWith(env); err == nil || !strings.Contains(err.Error(), input+":") {
			t.Errorf("%s: error %v does not name the input", input, err)
		}
	}
}

// restorePlanFile is an applied run's plan file of owner, deleting one
// version in each of pkgs.
func restorePlanFile(owner string, pkgs ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"format":"ghcr-prune-plan","version":1,"dry_run":false`)
	if owner != "" {
		b.WriteString(`,"owner":"` + owner + `"`)
	}
	b.WriteString(`,"packages":[`)
	for i, p := range pkgs {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"package":%q,"delete":[{"id":%d,"digest":"sha256:%s","tags":[],"outcome":"deleted"}]}`, p, 10+i, strings.Repeat(fmt.Sprint(i%10), 64))
	}
	b.WriteString("]}")
	return []byte(b.String())
}

func TestParseRestore(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	ok := write("ok.json", restorePlanFile("acme", "app", "team/app"))
	tests := []struct {
		name, restoreFrom, packages string
		want                        []int64 // ids, in restore order
		wantErr                     string
	}{
		{"ids, restored in reverse", "4,5,6", "app", []int64{6, 5, 4}, ""},
		{"ids need one package", "4", "app, web", nil, "exactly one package"},
		{"ids need a package, not a wildcard", "4", "app-*", nil, "exactly one package"},
		{"zero id", "4,0", "app", nil, "version id 0 is not positive"},
		{"negative id", "-4", "app", nil, "version id -4 is not positive"},
		{"plan, every package named", ok, "app, team/app", []int64{10, 11}, ""},
		{"plan, a wildcard names them", ok, "app, team/*", []int64{10, 11}, ""},
		{"plan, a package not named", ok, "app", nil, "deleted versions of team/app, which packages does not name"},
		{"plan of another owner", write("evil.json", restorePlanFile("evil", "app")), "app", nil, "evil's, not acme's"},
		{"plan without an owner", write("ownerless.json", restorePlanFile("", "app")), "app", nil, "names no owner"},
		{"plan with a hostile package", write("hostile.json", restorePlanFile("acme", "app\n::error::pwned")), "app", nil, "hostile.json: packages[0]"},
		{"missing plan", filepath.Join(dir, "nope.json"), "app", nil, "nope.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseWith(map[string]string{"INPUT_RESTORE-FROM": tt.restoreFrom, "INPUT_PACKAGES": tt.packages, "INPUT_DRY-RUN": "false"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), "restore-from: ") || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming restore-from and saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, it := range cfg.restore {
				got = append(got, it.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("restores %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReadPlanFileRefusesAnOversizedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: the size is what counts, not the disk it takes.
	if err := f.Truncate(maxPlanFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := readPlanFile(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("readPlanFile = %v, want it refused as too large", err)
	}
}

// FuzzParseRestore: restore-from's two forms never panic, and what they
// accept restores only positive ids, in the packages named, under digests
// GitHub could have listed.
func FuzzParseRestore(f *testing.F) {
	f.Add("4,5,6", restorePlanFile("acme", "app", "team/app"))
	f.Add("0", restorePlanFile("", "app"))
	f.Add("-1,2", restorePlanFile("evil", "team/app"))
	f.Add("9223372036854775807", restorePlanFile("acme", "other"))
	f.Add("1\n2", []byte(`{"format":"ghcr-prune-plan","version":1,"owner":"acme","packages":[{"package":"app","delete":[{"id":1,"digest":"sha256:x\n::error::pwned","outcome":"deleted"}]}]}`))
	f.Add("", []byte(`{"format":"ghcr-prune-plan","version":1,"owner":"acme","packages":[{"package":"app","delete":[null,{}]}]}`))
	named := namedBy([]string{"app", "team/*"}, false)
	f.Fuzz(func(t *testing.T, ids string, plan []byte) {
		if list := splitList(ids); len(list) > 0 && allDigits(list) {
			items, err := restoreIDs(list, []string{"app"})
			for _, it := range items {
				if err != nil || it.ID <= 0 || it.Package != "app" {
					t.Fatalf("ids %q: restores %+v (err %v)", ids, it, err)
				}
			}
		}
		items, err := restorePlan(plan, "fuzz.json", "acme", named)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.ID <= 0 || !prune.ValidDigest(it.Digest) || !named(it.Package) || !prune.ValidPackageName(it.Package) {
				t.Fatalf("restores %+v", it)
			}
		}
	})
}

func TestParseInputsRules(t *testing.T) {
	cfg, err := parseWith(nil)
	if err != nil || cfg.policy.MinAge != time.Hour {
		t.Errorf("min-age defaults to 1 hour: %v, %v", cfg.policy.MinAge, err)
	}
	for v, want := range map[string]time.Duration{"0": 0, "0s": 0, "90m": 90 * time.Minute, "2 days": 48 * time.Hour} {
		if cfg, err := parseWith(map[string]string{"INPUT_MIN-AGE": v}); err != nil || cfg.policy.MinAge != want {
			t.Errorf("min-age %q: %v, %v; want %v", v, cfg.policy.MinAge, err, want)
		}
	}
	cfg, err = parseWith(map[string]string{"INPUT_GROUP-TAGS": `^(.+)-[0-9a-f]{7,40}$`, "INPUT_KEEP-N-TAGGED": "3"})
	if err != nil || cfg.policy.GroupTags == nil || strings.Join(cfg.policy.GroupTags.Of([]string{"main-abc1234"}), "") != "main" {
		t.Errorf("group-tags: %v, %v", cfg.policy.GroupTags, err)
	}
	ws := writeFiles(t, map[string]string{"deploy/prod.yaml": "image: ghcr.io/acme/app:1.4\n"})
	cfg, err = parseWith(map[string]string{"GITHUB_WORKSPACE": ws, "INPUT_KEEP-REFERENCED-IN": "deploy/*.yaml", "INPUT_REGISTRY-URL": "ghcr.io"})
	if err != nil || cfg.policy.Referenced.Of("app")["1.4"] != "deploy/prod.yaml:1" {
		t.Errorf("keep-referenced-in: %v, %v", cfg.policy.Referenced, err)
	}
	for input, env := range map[string]map[string]string{
		"min-age":            {"INPUT_MIN-AGE": "soon"},
		"group-tags":         {"INPUT_GROUP-TAGS": `^v\d+$`, "INPUT_KEEP-N-TAGGED": "3"},
		"keep-referenced-in": {"GITHUB_WORKSPACE": ws, "INPUT_KEEP-REFERENCED-IN": "../*.yaml"},
		"compare-to":         {"INPUT_COMPARE-TO": "/nonexistent/plan.json"},
	} {
		if _, err := parseWith(env); err == nil || !strings.Contains(err.Error(), input+":") {
			t.Errorf("%s: error %v does not name the input", input, err)
		}
	}
	if _, err := parseWith(map[string]string{"INPUT_GROUP-TAGS": `^(.+)$`}); err == nil || !strings.Contains(err.Error(), "keep-n-tagged") {
		t.Errorf("group-tags without keep-n-tagged: %v", err)
	}
}
