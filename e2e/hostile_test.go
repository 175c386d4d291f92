package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// Hostile and malformed data in a package, end to end: each row must give a
// clear error or a warning, never a panic and never a wrong deletion. Where
// the package cannot be read, nothing at all may be deleted from it.
//
// Rows are seeded with raw manifest PUTs to the fake's registry. Where the
// fake refuses the push, as a real registry would, the row says so and is
// skipped: such data cannot reach a package.

// putManifest PUTs body as a manifest under ref (a tag or a digest) with
// the given Content-Type and returns the digest and the HTTP status.
func putManifest(t *testing.T, e *e2e, ref, contentType string, body []byte) (string, int) {
	t.Helper()
	d, status, err := e.srv.PutManifest(e.owner, e.pkg, ref, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return d, status
}

const zeroDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

// imageManifest is a valid OCI image manifest; pad makes it unique (and
// as large as needed).
func imageManifest(pad string) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":2},"layers":[],"annotations":{"pad":%q}}`,
		ociManifestType, zeroDigest, pad)
}

// hostileFixture is what every row starts from: a tagged image that stays, and
// an old untagged image that delete-untagged would delete, the bait that shows
// a wrong deletion when a package that cannot be read is pruned anyway.
type hostileFixture struct {
	keep, bait string
}

// hostileSetup is what a row's setup produced.
type hostileSetup struct {
	skip string // the fake refused the data: why
	// deleted is what a correct run deletes when the package is readable.
	deleted []string
}

type hostileRow struct {
	name   string
	inputs map[string]string
	setup  func(t *testing.T, e *e2e, f hostileFixture) hostileSetup
	// wantErr, when set, is in the package's error: the package cannot be
	// read and nothing may be deleted from it.
	wantErr string
	// wantLog is in the log (a warning) when set.
	wantLog string
	// bare rows start from an empty package instead of the fixture.
	bare bool
}

// refusedPush expects the fake to refuse a push and returns the skip reason.
func refusedPush(t *testing.T, status int, why string) hostileSetup {
	t.Helper()
	if status < 400 {
		t.Fatalf("the fake accepted %s (HTTP %d); the row must test the action instead of skipping", why, status)
	}
	return hostileSetup{skip: fmt.Sprintf("the fake refuses %s (HTTP %d), as a real registry does: it cannot reach a package", why, status)}
}

func expectAccepted(t *testing.T, status int, what string) {
	t.Helper()
	if status != http.StatusCreated {
		t.Fatalf("pushing %s: HTTP %d", what, status)
	}
}

func TestE2EHostileData(t *testing.T) {
	t.Parallel()
	untagged := applied("delete-untagged", "true")
	rows := []hostileRow{
		{
			name: "malformed JSON",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				_, st := putManifest(t, e, "broken", ociManifestType, []byte(`{"schemaVersion":2,"mediaType":`))
				return refusedPush(t, st, "a body that is not JSON")
			},
		},
		{
			name: "JSON null body",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				_, st := putManifest(t, e, "null", ociManifestType, []byte(`null`))
				expectAccepted(t, st, "null")
				return hostileSetup{}
			},
			wantErr: "schemaVersion is 0, want 2",
		},
		{
			name: "JSON of the wrong shape",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				_, st := putManifest(t, e, "shape", ociManifestType, []byte(`{"schemaVersion":2,"mediaType":"`+ociManifestType+`","config":"sha256:abc","layers":{}}`))
				expectAccepted(t, st, "a config that is a string")
				return hostileSetup{}
			},
			wantErr: "invalid JSON",
		},
		{
			name: "unknown media type",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				mt := "application/vnd.example.thing.v1+json"
				_, st := putManifest(t, e, "thing", mt, []byte(`{"schemaVersion":2,"mediaType":"`+mt+`","blobs":[]}`))
				expectAccepted(t, st, "an unknown media type")
				return hostileSetup{}
			},
			wantErr: `unsupported mediaType "application/vnd.example.thing.v1+json"`,
		},
		{
			name: "both an image and an index (CVE-2021-41190)",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				body := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":2},"layers":[],"manifests":[{"mediaType":%q,"digest":%q,"size":1}]}`,
					ociManifestType, zeroDigest, ociManifestType, f.bait)
				_, st := putManifest(t, e, "both", ociManifestType, []byte(body))
				expectAccepted(t, st, "an ambiguous manifest")
				return hostileSetup{}
			},
			wantErr: "has manifests",
		},
		{
			name: "Docker schema 1",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				mt := "application/vnd.docker.distribution.manifest.v1+prettyjws"
				body := `{"schemaVersion":1,"name":"acme/app","tag":"old","architecture":"amd64","fsLayers":[{"blobSum":"` + zeroDigest + `"}],"history":[{"v1Compatibility":"{}"}],"signatures":[]}`
				_, st := putManifest(t, e, "old", mt, []byte(body))
				expectAccepted(t, st, "a schema 1 manifest")
				return hostileSetup{}
			},
			wantErr: "schema 1 manifests are not supported",
		},
		{
			name: "manifest over 4 MiB",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				_, st := putManifest(t, e, "huge", ociManifestType, imageManifest(strings.Repeat("x", 4<<20)))
				return refusedPush(t, st, "a manifest over 4 MiB")
			},
		},
		{
			name: "manifest of exactly 4 MiB",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				body := imageManifest("")
				body = imageManifest(strings.Repeat("x", 4<<20-len(body)))
				if len(body) != 4<<20 {
					t.Fatalf("%d bytes", len(body))
				}
				d, st := putManifest(t, e, digestOf(body), ociManifestType, body) // by digest: untagged
				expectAccepted(t, st, "a 4 MiB manifest")
				e.age(d, 30*24*time.Hour)
				return hostileSetup{deleted: []string{f.bait, d}}
			},
		},
		{
			name: "index with a child missing from the package",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				idx, children := e.multiArch("multi", twoPlatforms, false)
				e.restDelete(children[1])
				e.age(idx, 30*24*time.Hour)
				return hostileSetup{deleted: []string{f.bait}}
			},
			wantLog: "partial image",
		},
		{
			name:   "index whose every child is missing, delete-ghost-images",
			inputs: applied("delete-untagged", "true", "delete-ghost-images", "true"),
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				idx, children := e.multiArch("ghost", []string{"linux/amd64"}, false)
				e.restDelete(children[0])
				e.age(idx, 10*day) // past min-age
				return hostileSetup{deleted: []string{f.bait, idx}}
			},
			wantLog: "ghost image",
		},
		{
			name: "index with a sha512 child",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				_, st := putManifest(t, e, "sha512", ociIndexType, indexOver("sha512:"+strings.Repeat("ab", 64)))
				return refusedPush(t, st, "an index whose child is not in the package (every sha512 digest is)")
			},
		},
		{
			// The fake checks an index's children only when the
			// Content-Type says index; GHCR's own check is unknown. The
			// action must not trust the Content-Type either way.
			name: "index with a sha512 child, pushed under another Content-Type",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				_, st := putManifest(t, e, "sha512", "application/octet-stream", indexOver("sha512:"+strings.Repeat("ab", 64)))
				expectAccepted(t, st, "an index with a sha512 child")
				return hostileSetup{}
			},
			wantErr: `unsupported digest algorithm "sha512"`,
		},
		{
			name: "index with a malformed child digest, pushed under another Content-Type",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				_, st := putManifest(t, e, "upper", "application/octet-stream", indexOver(strings.ToUpper(f.bait)))
				expectAccepted(t, st, "an index with an upper-case child digest")
				return hostileSetup{}
			},
			wantErr: "index entry 0",
		},
		{
			name: "registry serves other bytes for a digest",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				other := imageManifest("impostor")
				e.srv.SetFault(func(w http.ResponseWriter, r *http.Request) bool {
					if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/manifests/"+f.keep) {
						return false
					}
					w.Header().Set("Content-Type", ociManifestType)
					w.Header().Set("Docker-Content-Digest", f.keep)
					w.Write(other)
					return true
				})
				return hostileSetup{}
			},
			wantErr: "does not match requested digest",
		},
		{
			name:   "tags at the 128-character limit",
			inputs: applied("delete-tags", "pr-*"),
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				pr := "pr-" + strings.Repeat("a", 125)
				main := "main-" + strings.Repeat("b", 123)
				gone, err := e.push.Image(pr)
				if err != nil {
					t.Fatal(err)
				}
				e.age(gone, 10*day) // past min-age
				if _, err := e.push.Image(main); err != nil {
					t.Fatal(err)
				}
				if _, err := e.push.Image("pr-" + strings.Repeat("c", 126)); err == nil {
					t.Fatal("the fake accepted a 129-character tag")
				}
				// delete-tags turns delete-untagged's default off: the bait stays.
				return hostileSetup{deleted: []string{gone}}
			},
		},
		{
			name:   "a package with zero versions",
			inputs: untagged,
			bare:   true,
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				// GitHub (and the fake) refuse to delete a package's last
				// version through the API; the fake can empty it anyway.
				e.must(e.push.Image(""))
				e.srv.DeleteAllVersions(e.owner, e.pkg)
				if n := len(e.remaining()); n != 0 {
					t.Fatalf("%d versions left", n)
				}
				return hostileSetup{}
			},
		},
		{
			name: "two signatures that name each other (a tag cycle)",
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				a, b := e.must(e.push.Image("")), e.must(e.push.Image(""))
				for _, p := range [][2]string{{a, b}, {b, a}} {
					e.tag(p[0], strings.Replace(p[1], ":", "-", 1)+".sig")
				}
				e.age(a, 30*24*time.Hour)
				e.age(b, 30*24*time.Hour)
				// Neither is a top-level image and nothing kept reaches
				// them, so both would go, but in no order that is safe:
				// the package fails with the cycle named, nothing deleted.
				return hostileSetup{}
			},
			wantErr: "cycle",
		},
		{
			name:   "a signature that names itself",
			inputs: applied("delete-untagged", "false"),
			setup: func(t *testing.T, e *e2e, f hostileFixture) hostileSetup {
				a := e.must(e.push.Image(""))
				e.tag(a, strings.Replace(a, ":", "-", 1)+".sig")
				// No rule deletes anything: nothing may go.
				return hostileSetup{}
			},
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t, "acme", "app", true)
			var f hostileFixture
			if !row.bare {
				f = hostileFixture{keep: e.must(e.push.Image("keep")), bait: e.must(e.push.Image(""))}
				e.age(f.bait, 30*24*time.Hour)
			}
			s := row.setup(t, e, f)
			if s.skip != "" {
				t.Skip(s.skip)
			}
			inputs := row.inputs
			if inputs == nil {
				inputs = untagged
			}
			before := e.remaining()
			e.srv.ResetStats()
			r := runCatchingPanic(t, e, inputs)
			deletes := e.srv.Stats().REST[http.MethodDelete]
			if r.err != nil && strings.Contains(r.err.Error(), "invalid input") {
				t.Fatalf("bad row inputs: %v", r.err)
			}
			if row.wantLog != "" && !strings.Contains(r.log, row.wantLog) {
				t.Errorf("the log does not say %q:\n%s\nsummary:\n%s", row.wantLog, r.log, r.summary)
			}
			if row.wantErr != "" {
				if r.err == nil {
					t.Fatalf("the run succeeded; want an error about %q\nlog:\n%s", row.wantErr, r.log)
				}
				if r.report == nil || len(r.report.Packages) != 1 || r.report.Packages[0].Err == nil {
					t.Fatalf("no package error: %v", r.err)
				}
				pe := r.report.Packages[0].Err.Error()
				if !strings.Contains(pe, row.wantErr) || !strings.Contains(pe, "nothing deleted") {
					t.Errorf("package error %q does not say %q and that nothing was deleted", pe, row.wantErr)
				}
				if !strings.Contains(r.log, "::warning::") || !strings.Contains(r.summary, row.wantErr) {
					t.Errorf("the error is not a warning in the log and in the summary:\nlog:\n%s\nsummary:\n%s", r.log, r.summary)
				}
				if deletes != 0 {
					t.Errorf("%d DELETEs in a package that could not be read", deletes)
				}
				e.expectRemaining(before...)
				return
			}
			e.ok(r)
			e.expectRemaining(without(before, s.deleted...)...)
			if deletes != len(s.deleted) {
				t.Errorf("%d DELETEs, want %d", deletes, len(s.deleted))
			}
			if f.keep != "" && slices.Contains(s.deleted, f.keep) {
				t.Fatal("bad row: the fixture's tagged image must stay")
			}
		})
	}
}

// indexOver is an OCI index listing one child.
func indexOver(child string) []byte {
	return fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":%q,"manifests":[{"mediaType":%q,"digest":%q,"size":100,"platform":{"os":"linux","architecture":"amd64"}}]}`,
		ociIndexType, ociManifestType, child)
}
