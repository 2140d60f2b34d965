# shellcheck shell=bash
# Sourced by the jobs that log in to Azure (.gitlab-ci.yml `.azure-login`).
# Picks the client id of the job's PLATFORM_IDENTITY (README "Pipeline
# identities") and writes GitLab's OIDC token (AZURE_ID_TOKEN) to a file
# outside the project directory, as AZURE_FEDERATED_TOKEN_FILE.
#
#   preview  PLATFORM_PREVIEW_CLIENT_ID   read-only: state read, decrypt
#   review   PLATFORM_REVIEW_CLIENT_ID    review environments' state and key only;
#            their state is PLATFORM_REVIEW_STATE_BACKEND_URL when set
#   deploy   PLATFORM_DEPLOY_CLIENT_ID    a protected variable, scoped to the
#            job's environment (dev, staging, prod)
#
# A job without its client id goes on without Azure (the local stack needs
# none) and says why; a stack that needs Azure then fails naming what is
# missing. This file only chooses: which branches and tags may use an
# identity is its federated credential in Entra ID.

platform_azure_login() {
  local identity="${PLATFORM_IDENTITY:-}" variable client
  case "$identity" in
    preview) variable=PLATFORM_PREVIEW_CLIENT_ID ;;
    review) variable=PLATFORM_REVIEW_CLIENT_ID ;;
    deploy) variable=PLATFORM_DEPLOY_CLIENT_ID ;;
    *)
      echo "ci: PLATFORM_IDENTITY is \"$identity\"; allowed values: preview, review, deploy" >&2
      return 2
      ;;
  esac
  if [ "$identity" = "review" ] && [ -n "${PLATFORM_REVIEW_STATE_BACKEND_URL:-}" ]; then
    # Review stacks keep their state apart from dev's, staging's and prod's.
    export PLATFORM_STATE_BACKEND_URL="$PLATFORM_REVIEW_STATE_BACKEND_URL"
  fi
  client="${!variable:-}"
  if [ -z "$client" ]; then
    echo "ci: no Azure identity for this job ($variable is not set here; protected variables reach only protected branches and tags, and a merge request from a fork runs in the fork's project with none)" >&2
    return 0
  fi
  if [ -z "${AZURE_ID_TOKEN:-}" ]; then
    echo "ci: $variable is set but the job has no AZURE_ID_TOKEN (id_tokens)" >&2
    return 2
  fi
  export AZURE_CLIENT_ID="$client"
  AZURE_FEDERATED_TOKEN_FILE="$(mktemp)" && export AZURE_FEDERATED_TOKEN_FILE
  printf '%s' "$AZURE_ID_TOKEN" >"$AZURE_FEDERATED_TOKEN_FILE"
  # The token is in the file now; the variable is not needed by any tool.
  unset AZURE_ID_TOKEN
  echo "ci: Azure identity $identity ($variable)"
}

platform_azure_login
