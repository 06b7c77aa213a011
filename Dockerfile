# syntax=docker/dockerfile:1
#
# skill6pub image: a static Go binary on distroless, running as the
# distroless "nonroot" user (65532). Build with a version stamp:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t skill6pub .
# The default command is the daemon (`run`); `simulate`, `once`, `backfill`,
# `schema` and `version` are chosen by the container's command.
#
# Distroless has no shell or curl: the HEALTHCHECK runs the binary's own
# `healthcheck` command, which asks /healthz of the ops server on HTTP_ADDR.
# The Kubernetes manifests in deploy/kubernetes probe /healthz and /readyz.

# Must match the go line of go.mod (deploy/deploy_test.go checks it).
ARG GO_VERSION=1.26.8

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
# CGO off: the runtime image has no libc. -trimpath keeps build paths out of
# the binary; main.version is what `skill6pub version` and the events'
# producer.version report.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/skill6pub ./cmd/skill6pub
# The state directory, created here because distroless has no mkdir; owned by
# the runtime user so that a fresh Docker named volume mounted on it (which
# copies the image directory's owner) is writable.
RUN mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/skill6pub /usr/local/bin/skill6pub
COPY --from=build --chown=65532:65532 /out/state /var/lib/skill6pub
ENV STATE_DIR=/var/lib/skill6pub \
    HTTP_ADDR=:8080
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/skill6pub", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/skill6pub"]
CMD ["run"]
