#!/usr/bin/env bash
# Builds (first run only) the throwaway Kubernetes control plane the engine
# tests deploy to, and prints the environment that finds it:
#
#   eval "$(toolchain/ensure-test-cluster.sh)"   # exports PLATFORM_TEST_CLUSTER_BIN
#
# - etcd, from go.etcd.io/etcd/server/v3 (toolchain/etcd)
# - kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (the
#   tests' client, at the server's version), from k8s.io/kubernetes
#   (toolchain/kubernetes)
# - kwok, which plays the kubelet (toolchain/kwok), and the upstream stage
#   files it needs, taken from the kwok module as downloaded
# - local-kms, the AWS KMS API on loopback (toolchain/local-kms), for the
#   delivery-jobs test's awskms:// secrets provider
# Each build is cached under PLATFORM_CACHE_DIR, keyed by its version and the
# hash of its build module, so a second run takes well under a second.
# test/helpers/test-cluster.ts starts and stops them. Progress goes to stderr.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "$repo_root/toolchain/versions.env"

cache_dir="${PLATFORM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/platform-gitops}"
mkdir -p "$cache_dir"
bin_dir="$cache_dir/test-cluster/bin"
mkdir -p "$bin_dir"

# shellcheck source=progress.sh
source "$repo_root/toolchain/progress.sh"
progress_prefix=test-cluster
log() { progress_log "$@"; }
fail() { printf '[test-cluster] error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || fail "go is not on PATH: it is needed to build the test cluster (Go 1.26+)"
exec 9>"$cache_dir/.test-cluster.lock"
flock 9

export GOFLAGS="-mod=readonly" CGO_ENABLED=0

# build <n> <name> <module dir> <version> <ldflags> <packages...>: step n of
# the four builds; builds the packages into $bin_dir unless the cached key
# (version + module hash) matches.
build_names=(etcd kubernetes kwok local-kms)
build() {
  local n="$1" name="$2" module="$3" version="$4" ldflags="$5" key
  shift 5
  key="$version-$(cat "$module/go.mod" "$module/go.sum" | sha256sum | cut -c1-12)"
  if [ "$(cat "$bin_dir/.$name.key" 2>/dev/null)" = "$key" ]; then
    return 0
  fi
  step "$n" 4 "building $name $version from Go modules (first run only; several minutes)" "${build_names[n]:-}"
  timed "$name build" go -C "$module" build -trimpath -ldflags "-s -w $ldflags" -o "$bin_dir/" "$@"
  echo "$key" >"$bin_dir/.$name.key"
}

build 1 etcd "$repo_root/toolchain/etcd" "v$ETCD_VERSION" "" go.etcd.io/etcd/server/v3
# go names the binary of go.etcd.io/etcd/server/v3 after "server".
if [ -x "$bin_dir/server" ]; then mv "$bin_dir/server" "$bin_dir/etcd"; fi

k8s_version="v$KUBERNETES_VERSION"
k8s_minor="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
# Without these the servers report v0.0.0-master, which clients (the Pulumi
# provider among them) read to pick API behaviour.
k8s_ldflags="-X k8s.io/component-base/version.gitVersion=$k8s_version \
-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$k8s_minor \
-X k8s.io/component-base/version.gitTreeState=clean"
build 2 kubernetes "$repo_root/toolchain/kubernetes" "$k8s_version" "$k8s_ldflags" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kubectl

build 3 kwok "$repo_root/toolchain/kwok" "v$KWOK_VERSION" "" sigs.k8s.io/kwok/cmd/kwok
# Not a control-plane part: the KMS the delivery-jobs test encrypts review stacks' secrets with.
build 4 local-kms "$repo_root/toolchain/local-kms" "v$LOCAL_KMS_VERSION" "" github.com/nsmithuk/local-kms
stages="$bin_dir/kwok-stages"
if [ ! -s "$stages/.version" ] || [ "$(cat "$stages/.version")" != "$KWOK_VERSION" ]; then
  kwok_dir="$(go -C "$repo_root/toolchain/kwok" list -m -f '{{.Dir}}' sigs.k8s.io/kwok)"
  rm -rf "$stages" && mkdir -p "$stages"
  # Nodes become Ready and keep a heartbeat; scheduled pods become Running and
  # Ready, and go away when deleted.
  cp "$kwok_dir"/kustomize/stage/node/fast/node-initialize.yaml \
    "$kwok_dir"/kustomize/stage/node/heartbeat/node-heartbeat.yaml \
    "$kwok_dir"/kustomize/stage/pod/fast/pod-ready.yaml \
    "$kwok_dir"/kustomize/stage/pod/fast/pod-complete.yaml \
    "$kwok_dir"/kustomize/stage/pod/fast/pod-delete.yaml "$stages/"
  chmod u+w "$stages"/*
  echo "$KWOK_VERSION" >"$stages/.version"
fi

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok local-kms; do
  [ -x "$bin_dir/$b" ] || fail "$bin_dir/$b is missing after the build"
done
echo "export PLATFORM_TEST_CLUSTER_BIN=\"$bin_dir\""
