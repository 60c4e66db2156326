# syntax=docker/dockerfile:1
#
# edgehog container image: a static binary on distroless, running as a
# non-root user. Build:
#
#   docker build --build-arg VERSION=v1.2.3 \
#     --build-arg COMMIT=$(git rev-parse --short=12 HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t edgehog:v1.2.3 .
#
# Run (the image's default config listens on :8080 with region us):
#
#   docker run -p 8080:8080 -e EDGEHOG_REGION=eu -e EDGEHOG_PREFIX=/ph edgehog:v1.2.3
#
# See docs/deployment.md for TLS, ACME storage and configuration files.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev COMMIT=unknown DATE=unknown
# CGO_ENABLED=0: a static binary that needs no libc in the image (Go's own
# DNS resolver and TLS). -trimpath: no build paths in the binary. -s -w:
# no symbol or DWARF tables. The -X values are what `edgehog version` prints
# (cmd/edgehog/version.go).
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/edgehog ./cmd/edgehog
# The ACME directory must exist and belong to the runtime user: distroless
# has no shell to create it at run time.
RUN mkdir -p /out/var/lib/edgehog/acme && chown -R 65532:65532 /out/var/lib/edgehog && chmod 0700 /out/var/lib/edgehog/acme

# distroless/static: CA certificates, /etc/passwd with "nonroot" (65532),
# tzdata, and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/edgehog /usr/bin/edgehog
COPY --from=build --chown=65532:65532 /out/var/lib/edgehog /var/lib/edgehog
USER 65532:65532
# 8080 for HTTP; with TLS, listen on :8443 (and http_redirect_listen on
# :8080): a non-root user cannot bind ports below 1024 without the
# NET_BIND_SERVICE capability, so map 443 and 80 on the host or Service.
EXPOSE 8080 8443
VOLUME ["/var/lib/edgehog"]
ENTRYPOINT ["/usr/bin/edgehog"]
CMD ["serve"]
