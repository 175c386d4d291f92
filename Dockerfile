# syntax=docker/dockerfile:1
# The image GitHub builds for `uses: ./` (and `uses: owner/ghcr-prune@main`).
# Releases are not built from this file but by `go run ./internal/imagebuild`,
# which needs no Docker daemon; both make the same image, and
# internal/imagebuild's tests check that this file still agrees with it.

# Pinned by digest: a tag can be moved to other bytes, a digest cannot.
FROM golang:1.26@sha256:3aff6657219a4d9c14e27fb1d8976c49c29fddb70ba835014f477e1c70636647 AS build
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no libc to load in a scratch image), trimmed, stripped, stamped:
# the same build imagebuild runs.
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${REVISION}" \
      -o /rootfs/ghcr-prune . \
 && mkdir -m 1777 /rootfs/tmp

# scratch: no shell, no package manager, nothing to patch: just the binary and
# an empty /tmp (sticky, world-writable, as everywhere). There is no CA
# bundle: the binary carries Mozilla's roots (roots.go). There is no USER on
# purpose: GitHub runs Docker actions as the image's default user and mounts
# GITHUB_OUTPUT and GITHUB_STEP_SUMMARY owned by the runner's user, so only
# root can write them.
FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/ghcr-prune/ghcr-prune
# Copying the directory's contents keeps each entry's mode, the 1777 of tmp too.
COPY --from=build /rootfs/ /
LABEL org.opencontainers.image.source="${SOURCE}"
LABEL org.opencontainers.image.version="${VERSION}"
LABEL org.opencontainers.image.revision="${REVISION}"
LABEL org.opencontainers.image.licenses="Apache-2.0"
LABEL org.opencontainers.image.title="ghcr-prune"
LABEL org.opencontainers.image.description="GitHub Action that deletes old container images from GitHub Container Registry without breaking an image anyone still pulls"
ENTRYPOINT ["/ghcr-prune"]
