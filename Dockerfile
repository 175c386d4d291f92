# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same build .ci/run checks on every change.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /ghcr-prune .

# distroless/static: no shell, no package manager, just the static binary and
# CA certificates. It runs as root only because GitHub requires Docker actions
# to run as the default user: the runner mounts GITHUB_OUTPUT and
# GITHUB_STEP_SUMMARY owned by its own user, and a non-root user cannot write them.
FROM gcr.io/distroless/static-debian12
COPY --from=build /ghcr-prune /ghcr-prune
ENTRYPOINT ["/ghcr-prune"]
