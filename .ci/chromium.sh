#!/usr/bin/env bash
# Run by .ci/run before the tests: the distribution's Chromium for the dashboard's browser tests
# (tests/dashboard/), installed when missing, as .ci/postgres.sh does for PostgreSQL. Playwright
# drives it through its executable_path: `playwright install` (which downloads a browser) is
# never run. Under CI=true the browser tests fail rather than skip without it.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "== chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
    exit 0
fi
echo "== chromium: installing the distribution's package"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "== chromium: $(/usr/bin/chromium --version 2>/dev/null || echo installed)"
