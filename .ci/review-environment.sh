#!/usr/bin/env bash
# The review environment of a merge request (.gitlab-ci.yml `review:*`):
#
#   deploy  creates or updates stack review-<MR iid> from the review template,
#           on the cluster of PLATFORM_REVIEW_KUBECONFIG (a file variable),
#           with a planned destruction date PLATFORM_REVIEW_DAYS (default 3)
#           days away, renewed by each deploy; the reaper destroys it after.
#   stop    destroys it (./platform destroy: refused if anything is protected)
#           and removes the stack.
#
# The stack's state is in the team backend (PLATFORM_STATE_BACKEND_URL) with
# the secrets provider PLATFORM_SECRETS_PROVIDER; its config is written here
# from the merge request's variables on every deploy, so it is not committed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

action="${1:?usage: .ci/review-environment.sh deploy|stop}"
iid="${CI_MERGE_REQUEST_IID:?CI_MERGE_REQUEST_IID is not set: review environments belong to merge requests}"
stack="review-$iid"

case "$action" in
  deploy)
    : "${PLATFORM_REVIEW_KUBECONFIG:?set PLATFORM_REVIEW_KUBECONFIG (a file variable): the kubeconfig of the cluster review environments run on}"
    days="${PLATFORM_REVIEW_DAYS:-3}"
    planned="$(date -u -d "+$days days" +%Y-%m-%d)"
    set_config() { ./platform pulumi config set --stack "$stack" "$1" "$2" >/dev/null; }
    # Creates the stack (with its secrets provider) on first use. A later deploy
    # runs on a fresh checkout without the stack file: the secrets provider then
    # comes from the state (PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER, set by the job).
    # ./platform reads a stack's template from its stack file
    # (environments/template-registry.ts): name it before `stack select --create`
    # writes the secrets settings into a file that would otherwise name none.
    [ -f "stacks/Pulumi.$stack.yaml" ] || printf 'config:\n  platform:template: review\n' >"stacks/Pulumi.$stack.yaml"
    ./platform pulumi stack select --create --stack "$stack" --secrets-provider "${PLATFORM_SECRETS_PROVIDER:?set PLATFORM_SECRETS_PROVIDER}" >/dev/null
    set_config platform:template review
    set_config platform:description "MR !$iid: ${CI_MERGE_REQUEST_TITLE:-review}"
    set_config platform:owner "${GITLAB_USER_EMAIL:?}"
    set_config platform:costCenter "${PLATFORM_COST_CENTER:?set PLATFORM_COST_CENTER (e.g. PLT-0001)}"
    set_config platform:repository "${CI_PROJECT_PATH:?}"
    set_config platform:plannedDestruction "$planned"
    set_config platform:kubernetesTarget apply
    echo "ci: deploying $stack (planned destruction $planned)"
    KUBECONFIG="$PLATFORM_REVIEW_KUBECONFIG" ./platform up "$stack"
    ;;
  stop)
    # Already gone (the reaper, or an earlier stop): nothing to do.
    if ! ./platform pulumi stack select --stack "$stack" >/dev/null 2>&1; then
      echo "ci: $stack does not exist; nothing to stop"
      exit 0
    fi
    # The required config comes from the last deployment (no stack file here).
    if ! ./platform pulumi config refresh --stack "$stack" --force >/dev/null; then
      # No deployment ever finished (the first deploy failed before it wrote
      # one): with nothing in the state there is nothing to destroy.
      resources="$(./platform pulumi stack export --stack "$stack" | node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log((s.deployment?.resources ?? []).length)')"
      if [ "$resources" != "0" ]; then
        echo "ci: $stack holds $resources resources but no deployment's config; destroy it by hand (README \"Reliability and recovery\")" >&2
        exit 1
      fi
      echo "ci: $stack was never deployed; removing the empty stack"
      ./platform pulumi stack rm --stack "$stack" --yes
      exit 0
    fi
    echo "ci: destroying $stack"
    KUBECONFIG="${PLATFORM_REVIEW_KUBECONFIG:-}" ./platform destroy "$stack"
    ./platform pulumi stack rm --stack "$stack" --yes
    ;;
  *)
    echo "usage: .ci/review-environment.sh deploy|stop" >&2
    exit 2
    ;;
esac
