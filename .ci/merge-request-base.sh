#!/usr/bin/env bash
# Prints the commit a merge request's change is diffed against
# (.ci/preview-merge-request.sh). In merged-results and merge-train pipelines
# HEAD is a merge commit on top of the target branch, so the target branch's
# commit is the base: the merge request's diff base would count the target's
# own newer commits as the merge request's. Otherwise it is the diff base.
set -euo pipefail

case "${CI_MERGE_REQUEST_EVENT_TYPE:-detached}" in
  merged_result | merge_train)
    printf '%s\n' "${CI_MERGE_REQUEST_TARGET_BRANCH_SHA:?CI_MERGE_REQUEST_TARGET_BRANCH_SHA is not set in a $CI_MERGE_REQUEST_EVENT_TYPE pipeline}" ;;
  *)
    printf '%s\n' "${CI_MERGE_REQUEST_DIFF_BASE_SHA:?CI_MERGE_REQUEST_DIFF_BASE_SHA is not set: this job runs in merge request pipelines}" ;;
esac
