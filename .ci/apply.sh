#!/usr/bin/env bash
# An apply job (.gitlab-ci.yml `apply:*`, `promote:prod`): `./platform up` of one
# stack, with the policy pack (./platform always passes it). Every pipeline of
# the default branch applies, whatever it changed: `up` changes nothing when
# the stack is current, and a cancelled or failed earlier pipeline's changes
# are never skipped (diffing against the previous tip would skip them).
# Usage: .ci/apply.sh <stack>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stack="${1:?usage: .ci/apply.sh <stack>}"
echo "ci: applying $stack"
# No --skip-preview: the preview runs the policy pack before anything is applied.
exec ./platform up "$stack"
