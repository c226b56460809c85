# thot: one static binary on distroless. Build from the repository root:
#
#   docker build -t thot --build-arg VERSION=$(git describe --tags --always --dirty) \
#                        --build-arg COMMIT=$(git rev-parse --short=12 HEAD) .
#
# Health: the runtime image has no shell and no curl, so there is no Docker
# HEALTHCHECK. Let the orchestrator probe HTTP instead: GET /readyz
# (readiness: database reachable) and GET /healthz (liveness) on port 8080.
# The cache mounts below need BuildKit (the default since Docker 23).

FROM golang:1.26-bookworm AS build
WORKDIR /src

# Modules first, so that code changes do not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# timetzdata embeds the zone database (THOT_TIMEZONE is checked at start),
# so the binary does not depend on the image's /usr/share/zoneinfo.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -tags timetzdata \
      -ldflags "-s -w -X github.com/thot-security/thot/internal/buildinfo.Version=${VERSION} -X github.com/thot-security/thot/internal/buildinfo.Commit=${COMMIT}" \
      -o /out/thot ./cmd/thot \
 && mkdir -p /out/data /out/app

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/thot /thot
# Owned by nonroot (65532) so that a fresh named volume on /data is writable.
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/app /app
WORKDIR /app
ENV THOT_DATA_DIR=/data \
    THOT_ADDR=0.0.0.0:8080
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
ENTRYPOINT ["/thot"]
CMD ["serve"]
