#!/usr/bin/env bash
# Installs the Debian packages some engine tests use, when they are missing.
# ./platform test runs it, so a fresh machine gets them from the README's
# test command alone.
set -uo pipefail

# The packages:
# - rabbitmq-server: the event tests (test/engine/events.test.ts) start their own
#   throwaway broker; the system service must not be left running (the tests
#   never use it, and it would hold 5672 and a beam's memory);
# - postgresql: the manager's store tests (manager/test/store.test.ts) run
#   Debian's initdb and postgres (/usr/lib/postgresql/<version>/bin) as their
#   own throwaway server; the package's cluster service must not be left
#   running either (it would hold 5432 and shared memory);
# - rsync: gitlab-ci-local (test/engine/gitlab-pipeline.test.ts) copies the
#   project into its build folder with it.
ensure_packages() {
  local missing=()
  if ! [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && ! command -v rabbitmq-server >/dev/null 2>&1; then
    missing+=(rabbitmq-server)
  fi
  if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
    missing+=(postgresql)
  fi
  command -v rsync >/dev/null 2>&1 || missing+=(rsync)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo="" log policy=/usr/sbin/policy-rc.d added_policy=false t0
  t0=$(date +%s)
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "test-packages: ${missing[*]} missing and this user cannot install them (not root, no sudo); the tests that need them will fail"
      return 0
    fi
    sudo="sudo -n"
  fi
  log="$(mktemp)"
  echo "test-packages: installing ${missing[*]} (apt-get)"
  # policy-rc.d exit 101: Debian's maintainer scripts then do not start the service.
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && added_policy=true
  fi
  local install=($sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}")
  # The package lists are refreshed only when the install fails (stale or empty lists).
  if ! "${install[@]}" >"$log" 2>&1; then
    $sudo apt-get update -q >>"$log" 2>&1
    "${install[@]}" >>"$log" 2>&1 || { tail -n 20 "$log"; echo "test-packages: installing ${missing[*]} failed; the tests that need them will fail"; }
  fi
  if $added_policy; then $sudo rm -f "$policy"; fi
  # Belt and braces, in case a service manager started the broker or the cluster anyway.
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
    $sudo systemctl disable --now postgresql >/dev/null 2>&1 || true
  else
    if pgrep -u rabbitmq beam.smp >/dev/null 2>&1; then
      $sudo service rabbitmq-server stop >/dev/null 2>&1 || true
    fi
    # Only the package's own cluster (run as the postgres user from /var/lib/postgresql), not a test server.
    if pgrep -u postgres -f '^/usr/lib/postgresql/[0-9]+/bin/postgres -D /var/lib/postgresql/' >/dev/null 2>&1; then
      $sudo service postgresql stop >/dev/null 2>&1 || true
    fi
  fi
  rm -f "$log"
  echo "test-packages: package step took $(( $(date +%s) - t0 ))s"
}
ensure_packages >&2
