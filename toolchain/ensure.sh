#!/usr/bin/env bash
# Makes the pinned toolchain available and prints the environment that uses it.
#
#   eval "$(toolchain/ensure.sh)"
#
# - pnpm: used from PATH when it is the pinned version, else installed from
#   the npm registry into the cache.
# - pulumi: used from PATH when it is the pinned version (a laptop with the
#   released CLI, which bundles its language hosts); otherwise the CLI and the
#   repository's Node.js language host are built from Go modules.
# - the kubernetes provider plugin: installed into PULUMI_HOME from a build of
#   its Go module when it is not there yet.
# Builds are cached outside the repository under PLATFORM_CACHE_DIR, keyed by
# version (and, for code in this repository, by its content hash), so a second
# run takes seconds. Progress goes to stderr; only `export` lines go to stdout.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$repo_root/toolchain/versions.env"

cache_dir="${PLATFORM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-gitops}"
mkdir -p "$cache_dir"

# shellcheck source=progress.sh
source "$repo_root/toolchain/progress.sh"
progress_prefix=toolchain
log() { progress_log "$@"; }
fail() { printf '[toolchain] error: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || fail "node is not on PATH (Node.js 20.19+ is required)"

# Only one ensure.sh builds at a time (parallel test workers, two shells).
exec 9>"$cache_dir/.lock"
flock 9

# --- pnpm ---------------------------------------------------------------------
pnpm_bin=""
if command -v pnpm >/dev/null && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  pnpm_bin="$(dirname "$(command -v pnpm)")"
else
  pnpm_prefix="$cache_dir/pnpm-$PNPM_VERSION"
  if [ ! -x "$pnpm_prefix/node_modules/.bin/pnpm" ]; then
    step 1 4 "installing pnpm $PNPM_VERSION into $pnpm_prefix" "the pulumi CLI"
    timed "pnpm install" npm install --prefix "$pnpm_prefix" --no-audit --no-fund --loglevel=error \
      "pnpm@$PNPM_VERSION" >&2
  fi
  pnpm_bin="$pnpm_prefix/node_modules/.bin"
fi

# --- Go builds ----------------------------------------------------------------
go_build_env() {
  command -v go >/dev/null || fail "go is not on PATH: it is needed to build the Pulumi toolchain (Go 1.25+), \
or put pulumi v$PULUMI_VERSION on PATH"
  # The pinned pulumi modules are newer than what the checksum database mirror
  # answers for; their hashes are pinned in the committed go.sum files instead.
  export GONOSUMDB="github.com/pulumi" GOFLAGS="-mod=readonly" CGO_ENABLED=0
}

content_hash() { # content_hash <files...>: short hash of the files' contents
  cat "$@" | sha256sum | cut -c1-12
}

# --- pulumi CLI and language host ---------------------------------------------
pulumi_bin=""
if command -v pulumi >/dev/null && [ "$(pulumi version 2>/dev/null)" = "v$PULUMI_VERSION" ] \
  && [ -x "$(dirname "$(command -v pulumi)")/pulumi-language-nodejs" ]; then
  pulumi_bin="$(dirname "$(command -v pulumi)")"
  log "using pulumi v$PULUMI_VERSION from PATH ($pulumi_bin)"
else
  pulumi_bin="$cache_dir/pulumi-v$PULUMI_VERSION/bin"
  mkdir -p "$pulumi_bin"
  if [ ! -x "$pulumi_bin/pulumi" ]; then
    go_build_env
    step 2 4 "building the pulumi CLI v$PULUMI_VERSION from Go modules (first run only; the longest step)" "the Node.js language host, then the kubernetes provider"
    timed "pulumi CLI build" go -C "$repo_root/toolchain/pulumi-cli" build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$pulumi_bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    mv "$pulumi_bin/pulumi.tmp" "$pulumi_bin/pulumi"
  fi

  host_src="$repo_root/toolchain/pulumi-language-nodejs"
  host_key="$(content_hash "$host_src"/*.go "$host_src/go.mod" "$host_src/go.sum")"
  if [ ! -x "$pulumi_bin/pulumi-language-nodejs" ] || [ "$(cat "$pulumi_bin/.language-nodejs.key" 2>/dev/null)" != "$host_key" ]; then
    go_build_env
    step 3 4 "building the Node.js language host" "the kubernetes provider"
    timed "language host build" go -C "$host_src" build -trimpath \
      -ldflags "-s -w -X main.version=$PULUMI_VERSION" -o "$pulumi_bin/pulumi-language-nodejs.tmp" .
    mv "$pulumi_bin/pulumi-language-nodejs.tmp" "$pulumi_bin/pulumi-language-nodejs"
    echo "$host_key" >"$pulumi_bin/.language-nodejs.key"
  fi

  # Dynamic providers run through this script, shipped in the sdk/v3 module.
  if [ ! -x "$pulumi_bin/pulumi-resource-pulumi-nodejs" ]; then
    go_build_env
    sdk_dir="$(go -C "$host_src" list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
    install -m 0755 "$sdk_dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$pulumi_bin/"
  fi
fi

# --- plugin cache -------------------------------------------------------------
pulumi_home="${PULUMI_HOME:-$cache_dir/pulumi-home}"
mkdir -p "$pulumi_home"
k8s_plugin_dir="$pulumi_home/plugins/resource-kubernetes-v$KUBERNETES_PROVIDER_VERSION"
# Render mode has no cluster to ask, so Helm answers .Capabilities.KubeVersion
# from values linked into the provider; unset, they say v1.20 and charts that
# need >=1.22 refuse to render. helm.v4.Chart offers no setting for it, so the
# build stamps the version of the clusters the platform targets.
render_major="${KUBERNETES_VERSION%%.*}"
render_minor="${KUBERNETES_VERSION#*.}"
render_minor="${render_minor%%.*}"
k8s_build_key="v$KUBERNETES_PROVIDER_VERSION+render-k8s-$render_major.$render_minor"
if [ ! -x "$k8s_plugin_dir/pulumi-resource-kubernetes" ] \
  || [ "$(cat "$k8s_plugin_dir/.platform-build-key" 2>/dev/null)" != "$k8s_build_key" ]; then
  go_build_env
  build_dir="$cache_dir/build/pulumi-resource-kubernetes-v$KUBERNETES_PROVIDER_VERSION"
  rm -rf "$build_dir"
  mkdir -p "$build_dir"
  cp "$repo_root/toolchain/pulumi-kubernetes/go.mod" "$repo_root/toolchain/pulumi-kubernetes/go.sum" "$build_dir/"
  step 4 4 "the kubernetes provider v$KUBERNETES_PROVIDER_VERSION: download, generate, build (first run only; several minutes)"
  log "downloading $KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_PSEUDO"
  module_dir="$(go -C "$build_dir" mod download -json "$KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_PSEUDO" \
    | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -d "$module_dir" ] || fail "could not download $KUBERNETES_PROVIDER_MODULE@$KUBERNETES_PROVIDER_PSEUDO"
  # The main package embeds a versioned schema that its generate.go writes.
  cp "$module_dir"/cmd/pulumi-resource-kubernetes/{main.go,generate.go,schema.json,terraform-mapping.json} "$build_dir/"
  chmod u+w "$build_dir"/*
  (cd "$build_dir" && VERSION="$KUBERNETES_PROVIDER_VERSION" go run generate.go)
  rm "$build_dir/schema.json" "$build_dir/terraform-mapping.json" "$build_dir/generate.go"
  timed "kubernetes provider build" go -C "$build_dir" build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$render_major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$render_minor" \
    -o "$build_dir/pulumi-resource-kubernetes" .
  PULUMI_HOME="$pulumi_home" PULUMI_SKIP_UPDATE_CHECK=true "$pulumi_bin/pulumi" plugin install resource kubernetes \
    "$KUBERNETES_PROVIDER_VERSION" --file "$build_dir/pulumi-resource-kubernetes" --reinstall >&2
  echo "$k8s_build_key" >"$k8s_plugin_dir/.platform-build-key"
  rm -rf "$build_dir"
fi

# Resource operations at once. Pulumi's default is 4 per CPU (8 on a 2-core
# runner); the platform's stacks are mostly Kubernetes objects whose time is
# spent waiting for the API server and for workloads to become ready, and 48
# took a fresh up of local on the test API server from 316 s to 249 s on 2
# cores. PULUMI_PARALLEL, when set, wins (README "Performance").
parallel="${PULUMI_PARALLEL:-48}"
[[ "$parallel" =~ ^[1-9][0-9]{0,4}$ ]] || fail "PULUMI_PARALLEL=$parallel: must be a whole number from 1 to 99999 (resource operations at once)"

# Go's garbage collector for the Go programs run from here, the pulumi
# engine above all: at Go's default (100) the collector took a fifth of the
# engine's CPU in its per-step checkpoint loop (README "Applying to a
# cluster"); 300 took an up of local with checkpoints from 124 s to 108 s on
# 2 cores, the engine's peak memory from 0.9 to 1.5 GB. GOGC, when set, wins.
gogc="${GOGC:-300}"
[[ "$gogc" =~ ^([1-9][0-9]{0,5}|off)$ ]] || fail "GOGC=$gogc: must be a whole number from 1 to 999999, or off (Go's garbage collection target, percent)"

cat <<EOF
export PATH="$pulumi_bin:$pnpm_bin:\$PATH"
export PULUMI_HOME="$pulumi_home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PLATFORM_CACHE_DIR="$cache_dir"
export PULUMI_PARALLEL="$parallel"
export GOGC="$gogc"
EOF
