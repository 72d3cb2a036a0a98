#!/usr/bin/env bash
# Builds the control-plane binaries the e2e suite and `npm run up` need, from Go modules, into a cache
# outside the repository keyed by version and by a hash of this recipe. A second run with the same
# versions only checks `--version` and returns. Prints one progress line per step with its duration.
#
#   test/cluster/build-binaries.sh            # builds what is missing, prints KUBE_BIN_DIR=…, ETCD_BIN=… and OPA_BIN=…
#   test/cluster/build-binaries.sh --etcd-only  # only etcd (storage tests need nothing else)
#   test/cluster/build-binaries.sh --opa-only   # only opa (the controller's Rego checks, spec §5.3 point 5)
#
# Overrides: KUBE_VERSION, ETCD_VERSION, OPA_VERSION, KUBE_BIN_DIR (use prebuilt k8s binaries),
# ETCD_BIN (prebuilt etcd), OPA_BIN (prebuilt opa).
# Recipe and reasons: ../shared/spec/local-control-plane.md §2–4; opa: ../shared/spec/connectors-approval.md §5.3.
set -euo pipefail

ONLY=all
case "${1:-}" in
  --etcd-only) ONLY=etcd ;;
  --opa-only) ONLY=opa ;;
  "") ;;
  *) echo "usage: $0 [--etcd-only | --opa-only]" >&2; exit 64 ;;
esac

KUBE_VERSION=${KUBE_VERSION:-v1.36.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.14}
OPA_VERSION=${OPA_VERSION:-v1.22.4}
# Bump RECIPE when the build commands or flags change: it keys the cache, so an old binary built by
# another recipe is never reused (a content hash of this file would also discard builds on comment edits).
RECIPE=r1

# CACHE, GOOS, GOARCH, the Go environment, log, step and the build lock (shared with build-helm.sh).
source "$(dirname "${BASH_SOURCE[0]}")/build-common.sh"

build_kube() {
  local build=$CACHE/build/k8s-$KUBE_VERSION
  local minor=${KUBE_VERSION#v1.}; minor=${minor%%.*}
  mkdir -p "$build" "$KUBE_BIN_DIR"
  cd "$build"
  local kkmod gover
  kkmod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  # Copy go/godebug from the release's own go.mod so the binaries build with the defaults it was released with.
  gover=$(awk '$1=="go"{print $2; exit}' "$kkmod")
  { printf 'module local.invalid/kube-build\n\ngo %s\n' "$gover"
    grep -E '^godebug ' "$kkmod" || true; } > go.mod
  # Staging modules are required at v0.0.0 and replaced by ./staging in k/k; consumers must pin them.
  awk '($2=="=>" && $3 ~ /^\.\/staging\//){print $1} ($1 ~ /^k8s\.io\// && $2=="v0.0.0"){print $1}' "$kkmod" \
    | sort -u | while read -r m; do go mod edit -replace="$m=$m@v0.${KUBE_VERSION#v1.}"; done
  step "resolve k8s.io/kubernetes $KUBE_VERSION modules" \
    go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBE_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$KUBE_VERSION"
  local commit date ldf p
  commit=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"Hash": "\([0-9a-f]\{40\}\)".*/\1/p' | head -1)
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  ldf="-s -w"
  # Stamp the true version: unstamped binaries report v0.0.0-master and a fake one changes emulated defaults.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$date"
    if [ -n "$commit" ]; then ldf="$ldf -X $p.gitCommit=$commit"; fi
  done
  step "compile kube-apiserver, kube-controller-manager, kubectl (cold: 15-30 min on 2 cores)" \
    go build -p 2 -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldf" -o "$KUBE_BIN_DIR/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl
}

build_etcd() {
  local build=$CACHE/build/etcd-$ETCD_VERSION
  mkdir -p "$build" "$(dirname "$ETCD_BIN")"
  cd "$build"
  printf 'module local.invalid/etcd-build\n\ngo 1.26.0\n' > go.mod
  step "resolve etcd $ETCD_VERSION modules" go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  # -o: the package's default binary name would be "server".
  step "compile etcd" go build -trimpath -ldflags "-s -w" -o "$ETCD_BIN" go.etcd.io/etcd/server/v3
}

build_opa() {
  local build=$CACHE/build/opa-$OPA_VERSION
  mkdir -p "$build" "$(dirname "$OPA_BIN")"
  cd "$build"
  local opamod gover
  opamod=$(go mod download -json "github.com/open-policy-agent/opa@$OPA_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  gover=$(awk '$1=="go"{print $2; exit}' "$opamod")
  printf 'module local.invalid/opa-build\n\ngo %s\n' "$gover" > go.mod
  step "resolve opa $OPA_VERSION modules" go get -tool "github.com/open-policy-agent/opa@$OPA_VERSION"
  # No build tags: the default build has no Wasm runtime (it needs cgo), which the evaluator never uses.
  step "compile opa (cold: about 3 min on 2 cores)" \
    go build -trimpath -ldflags "-s -w" -o "$OPA_BIN" github.com/open-policy-agent/opa
}

kube_ok() { [ -x "$KUBE_BIN_DIR/kube-apiserver" ] && [ -x "$KUBE_BIN_DIR/kube-controller-manager" ] && [ -x "$KUBE_BIN_DIR/kubectl" ] &&
  "$KUBE_BIN_DIR/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $KUBE_VERSION"; }
# No grep -q for etcd and opa: it exits at the match, and under pipefail the SIGPIPE of a binary still
# printing later lines would fail the check now and then (and rebuild a cached binary).
etcd_ok() { [ -x "$ETCD_BIN" ] && "$ETCD_BIN" --version 2>/dev/null | grep "etcd Version: ${ETCD_VERSION#v}" >/dev/null; }
opa_ok() { [ -x "$OPA_BIN" ] && "$OPA_BIN" version 2>/dev/null | grep -x "Version: ${OPA_VERSION#v}" >/dev/null; }

if [ "$ONLY" != all ]; then :
elif [ -n "${KUBE_BIN_DIR:-}" ]; then
  kube_ok || { log "KUBE_BIN_DIR=$KUBE_BIN_DIR has no $KUBE_VERSION binaries"; exit 1; }
else
  KUBE_BIN_DIR=$CACHE/bin/k8s-$KUBE_VERSION-$GOOS-$GOARCH-$RECIPE
  if kube_ok; then log "kube binaries $KUBE_VERSION cached in $KUBE_BIN_DIR"; else
    t0=$SECONDS; (build_kube); kube_ok || { log "kube build produced no working binaries"; exit 1; }
    log "kube binaries $KUBE_VERSION built in $((SECONDS - t0))s"
  fi
fi

if [ "$ONLY" = opa ]; then :
elif [ -n "${ETCD_BIN:-}" ]; then
  [ -x "$ETCD_BIN" ] || { log "ETCD_BIN=$ETCD_BIN is not executable"; exit 1; }
else
  ETCD_BIN=$CACHE/bin/etcd-$ETCD_VERSION-$GOOS-$GOARCH-$RECIPE/etcd
  if etcd_ok; then log "etcd $ETCD_VERSION cached at $ETCD_BIN"; else
    t0=$SECONDS
    if (build_etcd) && etcd_ok; then log "etcd $ETCD_VERSION built in $((SECONDS - t0))s"
    else
      # Fallback only: Debian's 3.4 works with degraded watch progress (recipe §4.2).
      log "WARNING: etcd build failed; falling back to Debian's etcd-server package"
      command -v etcd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null; }
      ETCD_BIN=$(command -v etcd)
    fi
  fi
fi

if [ "$ONLY" = etcd ]; then :
elif [ -n "${OPA_BIN:-}" ]; then
  opa_ok || { log "OPA_BIN=$OPA_BIN is not opa $OPA_VERSION"; exit 1; }
else
  OPA_BIN=$CACHE/bin/opa-$OPA_VERSION-$GOOS-$GOARCH-$RECIPE/opa
  if opa_ok; then log "opa $OPA_VERSION cached at $OPA_BIN"; else
    t0=$SECONDS; (build_opa); opa_ok || { log "opa build produced no working binary"; exit 1; }
    log "opa $OPA_VERSION built in $((SECONDS - t0))s"
  fi
fi

[ "$ONLY" != all ] || echo "KUBE_BIN_DIR=$KUBE_BIN_DIR"
[ "$ONLY" = opa ] || echo "ETCD_BIN=$ETCD_BIN"
[ "$ONLY" = etcd ] || echo "OPA_BIN=$OPA_BIN"
