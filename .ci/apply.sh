#!/usr/bin/env bash
# An apply job (.gitlab-ci.yml `apply:*`, `promote:prod`): `./platform up` of one
# stack, with the policy pack (./platform always passes it), when the change
# since <before-sha> affects the stack; PLATFORM_APPLY_ALL=true, an empty or
# all-zero <before-sha> (a new branch) applies regardless.
# Usage: .ci/apply.sh <stack> <before-sha>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stack="${1:?usage: .ci/apply.sh <stack> <before-sha>}"
before="${2:-}"

if [ "${PLATFORM_APPLY_ALL:-false}" != "true" ] && [ -n "$before" ] && [ "$before" != "0000000000000000000000000000000000000000" ]; then
  if ! ./platform stacks affected "$before" | grep -qx "$stack"; then
    echo "ci: the changes since ${before:0:12} do not affect $stack; nothing to apply"
    exit 0
  fi
fi
echo "ci: applying $stack"
# No --skip-preview: the preview runs the policy pack before anything is applied.
exec ./platform up "$stack"
