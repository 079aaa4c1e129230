#!/usr/bin/env bash
# System packages the clinic app's tests need: Debian chromium (browser tests, driven by
# Playwright with executable_path=/usr/bin/chromium) and postgresql (the migration test starts
# a throw-away cluster with initdb + pg_ctl). Idempotent and quiet; installs only what is
# missing; does nothing without root or apt-get (the tests then skip with a clear reason).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || missing+=(postgresql)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
    echo "install-system-deps: missing ${missing[*]} (need root and apt-get); their tests will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq > /dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
