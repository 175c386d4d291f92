package main

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	repoRE   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$`)
	commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// Notes returns the GitHub release notes for a release of image (a
// ghcr.io/...@sha256: reference) built by repo's release workflow. commit,
// when given, is the commit the version tag points at (the one whose
// action.yml names the image by digest).
func Notes(image, repo, version, commit string) (string, error) {
	if err := ValidateImageRef(image); err != nil {
		return "", err
	}
	if !repoRE.MatchString(repo) {
		return "", fmt.Errorf("invalid repository %q: want OWNER/REPO", repo)
	}
	v, err := ParseVersion(version)
	if err != nil {
		return "", err
	}
	if commit != "" && !commitRE.MatchString(commit) {
		return "", fmt.Errorf("invalid commit %q: want 40 lowercase hex digits", commit)
	}
	owner := repo[:strings.IndexByte(repo, '/')]
	digest := image[strings.LastIndexByte(image, '@')+1:]
	identity := "^https://github\\.com/" + regexp.QuoteMeta(repo) + `/\.github/workflows/release\.yml@refs/tags/v`

	var b strings.Builder
	fmt.Fprintf(&b, "Image: `%s`\n\nDigest: `%s`", image, digest)
	if v.Pre == "" {
		fmt.Fprintf(&b, " (linux/amd64, linux/arm64)\n\n")
	} else {
		fmt.Fprintf(&b, " (linux/amd64, linux/arm64; pre-release: no major tag was moved)\n\n")
	}
	fmt.Fprintf(&b, "The tag `%s` points at a commit whose `action.yml` runs this image by digest "+
		"(`image: docker://%s`), so the runner pulls it instead of building the Dockerfile.\n\n", version, image)
	b.WriteString("### Use\n\n```yaml\n")
	fmt.Fprintf(&b, "- uses: %s@%s\n", repo, version)
	if commit != "" {
		fmt.Fprintf(&b, "# or immutable: the commit fixes action.yml, which fixes the image digest\n")
		fmt.Fprintf(&b, "- uses: %s@%s # %s\n", repo, commit, version)
	}
	b.WriteString("```\n\n### Verify\n\n")
	b.WriteString("Build provenance and SBOM attestations (GitHub CLI):\n\n```sh\n")
	fmt.Fprintf(&b, "gh attestation verify oci://%s --owner %s\n", image, owner)
	fmt.Fprintf(&b, "gh attestation verify oci://%s --owner %s --predicate-type https://spdx.dev/Document/v2.3\n", image, owner)
	b.WriteString("```\n\nKeyless cosign signature (Sigstore, made by this repository's release workflow):\n\n```sh\n")
	fmt.Fprintf(&b, "cosign verify %s \\\n  --certificate-identity-regexp '%s' \\\n  --certificate-oidc-issuer https://token.actions.githubusercontent.com\n", image, identity)
	b.WriteString("```\n")
	return b.String(), nil
}
