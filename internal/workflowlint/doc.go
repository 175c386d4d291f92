// Package workflowlint has only tests: they lint the repository's GitHub
// workflows and every YAML example in README.md with actionlint's Go library,
// checking each `uses: ./` (and each README example's
// `uses: ghcr-prune/ghcr-prune@...`) against the inputs of the real action.yml.
package workflowlint
