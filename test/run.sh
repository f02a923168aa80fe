#!/usr/bin/env bash
# The whole test suite: type check, then every test file under test/ with
# node's test runner. `npm test` and .ci/run run this.
set -euo pipefail
cd "$(dirname "$0")/.."
# The programs the end-to-end and PostgreSQL tests drive (apt-get, only when missing).
bash scripts/install-test-deps.sh
npx tsc -p tsconfig.test.json
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "$#" -gt 0 ]; then files=("$@"); fi
exec node --import tsx --test --test-timeout=600000 "${files[@]}"
