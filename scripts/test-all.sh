#!/usr/bin/env bash
# The full test run: typecheck, lint, then vitest (unit and real-engine tests).
# Expects the environment of ./platform (toolchain on PATH). Extra arguments go to vitest.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

status=0
echo "== typecheck"
pnpm exec tsc -p tsconfig.json || status=1
pnpm exec tsc -p policies/tsconfig.json --noEmit || status=1
pnpm exec tsc -p manager/tsconfig.json || status=1
echo "== lint"
pnpm exec eslint . || status=1
echo "== tests"
pnpm exec vitest run "$@" || status=1
exit $status
