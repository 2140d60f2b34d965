#!/usr/bin/env bash
# Builds toolchain/helm-render (Helm's client-side rendering, without the
# Pulumi engine; the lower bound `pnpm bench` prints) when it is missing, and
# prints the binary's path.
#
#   bin="$(toolchain/ensure-helm-render.sh)"
#
# The build is cached outside the repository under PLATFORM_CACHE_DIR, keyed
# by the hash of go.mod, go.sum and main.go. Progress goes to stderr; only the
# path goes to stdout.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo_root/toolchain/helm-render"
cache_dir="${PLATFORM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-gitops}"
mkdir -p "$cache_dir"

log() { printf '[helm-render] %s\n' "$*" >&2; }
fail() { printf '[helm-render] error: %s\n' "$*" >&2; exit 1; }

key="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-12)"
out_dir="$cache_dir/helm-render-$key"
bin="$out_dir/helm-render"

if [ ! -x "$bin" ]; then
  command -v go >/dev/null || fail "go is not on PATH: it is needed to build toolchain/helm-render (Go 1.25+)"
  # One build at a time (two benches, or a bench beside ./platform test).
  exec 9>"$cache_dir/.helm-render.lock"
  flock 9
  if [ ! -x "$bin" ]; then
    mkdir -p "$out_dir"
    log "building toolchain/helm-render into $out_dir"
    start=$(date +%s)
    GONOSUMDB="github.com/pulumi" GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 \
      go -C "$src" build -trimpath -ldflags "-s -w" -o "$bin.tmp" .
    mv "$bin.tmp" "$bin"
    log "build took $(($(date +%s) - start))s"
  fi
fi
echo "$bin"
