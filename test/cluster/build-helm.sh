#!/usr/bin/env bash
# Builds the helm CLI that test/e2e/manifests.test.ts uses to render charts/connectors-access-apiserver,
# from its Go module, into the same cache as build-binaries.sh (outside the repository, keyed by version,
# platform and recipe). A second run with the same version only checks `helm version` and returns.
# Prints one progress line per step with its duration, then HELM_BIN=… on stdout.
#
#   test/cluster/build-helm.sh      # builds helm if missing, prints HELM_BIN=…
#
# Overrides: HELM_VERSION (a helm.sh/helm/v4 module version), HELM_BIN (a prebuilt helm v4 or v3).
# Only `helm template` and `helm lint` are used: no cluster access, no repositories, no plugins.
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v4.3.2}
# Bump RECIPE when the build commands or flags change: it keys the cache (as in build-binaries.sh).
RECIPE=r1

# CACHE, GOOS, GOARCH, the Go environment, log, step and the build lock (shared with build-binaries.sh).
source "$(dirname "${BASH_SOURCE[0]}")/build-common.sh"

build_helm() {
  local build=$CACHE/build/helm-$HELM_VERSION
  mkdir -p "$build" "$(dirname "$HELM_BIN")"
  cd "$build"
  local helmmod gover
  helmmod=$(go mod download -json "helm.sh/helm/v4@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # Build with the go directive the release declares, so its dependency versions resolve as released.
  gover=$(awk '$1=="go"{print $2; exit}' "$helmmod")
  printf 'module local.invalid/helm-build\n\ngo %s\n' "$gover" > go.mod
  step "resolve helm $HELM_VERSION modules" go get -tool "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  # Stamp the version as the release Makefile does (unstamped, `helm version` says only v4.3).
  step "compile helm (cold: about 3-5 min on 2 cores)" \
    go build -p 2 -trimpath \
      -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
      -o "$HELM_BIN" helm.sh/helm/v4/cmd/helm
}

helm_ok() { [ -x "$HELM_BIN" ] && "$HELM_BIN" version --template '{{.Version}}' 2>/dev/null | grep -x "$HELM_VERSION" >/dev/null; }

if [ -n "${HELM_BIN:-}" ]; then
  # A prebuilt helm of any version 3 or 4: only checked to run.
  [ -x "$HELM_BIN" ] && "$HELM_BIN" version >/dev/null 2>&1 || { log "HELM_BIN=$HELM_BIN does not run"; exit 1; }
else
  HELM_BIN=$CACHE/bin/helm-$HELM_VERSION-$GOOS-$GOARCH-$RECIPE/helm
  if helm_ok; then log "helm $HELM_VERSION cached at $HELM_BIN"; else
    t0=$SECONDS; (build_helm); helm_ok || { log "helm build produced no working binary"; exit 1; }
    log "helm $HELM_VERSION built in $((SECONDS - t0))s"
  fi
fi

echo "HELM_BIN=$HELM_BIN"
