# shellcheck shell=bash
# Sourced, not run: the preamble that build-binaries.sh and build-helm.sh share, so that both build into
# the same cache the same way. The caller has `set -euo pipefail` on and sets its own versions and RECIPE
# (each script keys its own cache entries with it). This file sets CACHE (outside the repository) and
# GOOS/GOARCH (the platform, part of every cache key), exports the Go environment of the builds, defines
# log and step (progress lines on stderr), and takes the machine-wide build lock on fd 9, held until the
# calling script exits.

CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/connectors-access-apiserver
GOOS=$(go env GOOS); GOARCH=$(go env GOARCH)

export GOTOOLCHAIN=local GOWORK=off GOFLAGS=-modcacherw CGO_ENABLED=0

log() { printf '[build] %s\n' "$*" >&2; }
step() { # step "what" command… — runs it and prints how long it took
  local what=$1; shift; local t0=$SECONDS
  log "$what …"
  "$@"
  log "$what done in $((SECONDS - t0))s"
}

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
# One build at a time on this machine's 2 cores, whichever script runs: a parallel run waits, then
# finds what the first one built.
flock 9
