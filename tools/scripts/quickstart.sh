#!/usr/bin/env bash
# The README's Quick start, on a machine that has only Node.js 20 and npm.
#   npm run demo      installs, builds what the CLI needs and runs `synod demo`
#   npm run test:all  installs system programs the tests need, then runs
#                     lint, typecheck, test and build for every project
set -euo pipefail
cd "$(dirname "$0")/../.."

PNPM_VERSION=12.4.2

# corepack's signature check fails against some registries, so pnpm comes
# from npm at the pinned version.
pnpm_run() {
  if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
    pnpm "$@"
  else
    npx --yes "pnpm@$PNPM_VERSION" "$@"
  fi
}

install_dependencies() {
  pnpm_run install --frozen-lockfile --reporter=append-only
}

case "${1:-}" in
  demo)
    shift
    install_dependencies
    pnpm_run synod demo "$@"
    ;;
  test)
    shift
    bash tools/scripts/ensure-system-deps.sh
    install_dependencies
    rm -rf packages/*/test-results apps/*/test-results tools/*/test-results
    status=0
    NX_TUI=false pnpm_run nx run-many -t lint typecheck test build --output-style=stream "$@" || status=$?
    node tools/scripts/summarize-tests.mjs || status=$((status == 0 ? 1 : status))
    exit "$status"
    ;;
  *)
    echo "usage: quickstart.sh demo|test" >&2
    exit 64
    ;;
esac
