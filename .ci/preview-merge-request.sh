#!/usr/bin/env bash
# The merge request's preview job (.gitlab-ci.yml `preview`):
#   1. the stacks the change affects (./platform stacks affected: the git diff
#      against the merge base and the program's import graph);
#   2. `pulumi preview --json` of each, with the policy pack (./platform preview),
#      saved as <dir>/<stack>.json, .exit and .stderr;
#   3. one note on the merge request (scripts/post-preview-note.ts), created or
#      updated; the job fails when a preview failed or a mandatory policy was
#      violated.
# Usage: .ci/preview-merge-request.sh <dir>   (GitLab's merge request variables set)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir="${1:?usage: .ci/preview-merge-request.sh <dir>}"
base="$(.ci/merge-request-base.sh)" || exit 2
echo "ci: diffing against $base (${CI_MERGE_REQUEST_EVENT_TYPE:-detached} pipeline)"
mkdir -p "$dir"

stacks="$(./platform stacks affected "$base")" || { echo "ci: could not compute the affected stacks" >&2; exit 2; }
if [ -z "$stacks" ]; then
  echo "ci: no stack is affected by this change"
fi
for stack in $stacks; do
  # A prod-template stack's state and keys (prod, prod-eu…) are for its own
  # identity, which merge requests never get. Its template says so, from its
  # stack file (scripts/stack-lifecycle.ts), not its name.
  status=0
  reason="$(node --import tsx scripts/stack-lifecycle.ts previewed-in-merge-requests "$stack" 2>"$dir/$stack.stderr")" || status=$?
  if [ "$status" -eq 1 ] && [ -n "$reason" ]; then
    echo "ci: $stack is affected; not previewed in merge requests: $reason"
    echo "$reason" >"$dir/$stack.not-previewed"
    rm -f "$dir/$stack.stderr"
    continue
  fi
  if [ "$status" -ne 0 ]; then
    # Its template cannot be told (the message names the stack file): shown
    # as a failed preview in the note, never silently skipped.
    echo "$status" >"$dir/$stack.exit"
    echo "ci: $stack: could not tell whether merge requests preview it: $(cat "$dir/$stack.stderr")"
    continue
  fi
  echo "ci: previewing $stack"
  status=0
  # The streaming JSON form is the one that carries the policy results.
  PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true ./platform preview "$stack" --json \
    >"$dir/$stack.json" 2>"$dir/$stack.stderr" || status=$?
  echo "$status" >"$dir/$stack.exit"
  echo "ci: $stack preview exited with $status"
done

exec node --import tsx scripts/post-preview-note.ts "$dir"
