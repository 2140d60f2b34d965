#!/usr/bin/env bash
# A release tag must point at a commit of the default branch
# (.gitlab-ci.yml `release:check`): prod gets only what was merged, reviewed
# and applied to dev and staging first.
# Usage: .ci/release-check.sh <commit> <default branch>
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

commit="${1:?usage: .ci/release-check.sh <commit> <default branch>}"
branch="${2:?usage: .ci/release-check.sh <commit> <default branch>}"

# A tag pipeline fetches the tag, not the branch.
if ! git fetch --quiet origin "+refs/heads/$branch:refs/remotes/origin/$branch"; then
  echo "ci: cannot fetch the default branch $branch to check the release" >&2
  exit 2
fi
if git merge-base --is-ancestor "$commit" "refs/remotes/origin/$branch"; then
  echo "ci: release commit $commit is on $branch"
else
  echo "ci: release commit $commit is not on $branch: tag a commit of $branch (merge first)" >&2
  exit 1
fi
