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
  # prod's state and keys are for prod's identity alone, which merge requests
  # never get: prod is previewed by its release tag's preview:prod job.
  if [ "$stack" = "prod" ]; then
    echo "ci: prod is affected; it is previewed on the release tag (preview:prod), not in merge requests"
    echo "previewed on the release tag (preview:prod) with prod's own identity, not in merge requests" >"$dir/$stack.not-previewed"
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
