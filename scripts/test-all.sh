#!/usr/bin/env bash
# The full test run: typecheck and lint (side by side: each is one process on
# one core), then vitest (unit and real-engine tests).
# Expects the environment of ./platform (toolchain on PATH). Extra arguments go to vitest.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
(
  lane=0
  pnpm exec tsc -p tsconfig.json || lane=1
  pnpm exec tsc -p policies/tsconfig.json --noEmit || lane=1
  pnpm exec tsc -p manager/tsconfig.json || lane=1
  exit $lane
) >"$logs/typecheck" 2>&1 &
typecheck=$!
pnpm exec eslint . >"$logs/lint" 2>&1 &
lint=$!
# Each lane's output whole, in a fixed order, whichever finished first.
wait $typecheck || status=1
echo "== typecheck"
cat "$logs/typecheck"
wait $lint || status=1
echo "== lint"
cat "$logs/lint"
echo "== tests"
pnpm exec vitest run "$@" || status=1
exit $status
