#!/usr/bin/env bash
# Installs the programs from outside npm that the test suite needs, from
# Debian's packages, when they are missing and we are root. Otherwise it
# stops and says what to install. The list lives in system-deps.txt:
# one "command debian-package" pair per line (anything after them is a note).
# Debian puts some servers (nats-server) in /usr/sbin, which is not on a
# normal user's PATH, so that is searched too. A "command" of the form
# python3:MODULE is a Python module that /usr/bin/python3 must import.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
missing_packages=()
missing_commands=()
found() {
  case "$1" in
    python3:*) [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import ${1#python3:}" >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
  esac
}
while read -r command package _note; do
  case "$command" in ''|'#'*) continue ;; esac
  if ! found "$command"; then
    missing_commands+=("$command")
    missing_packages+=("$package")
  fi
done < "$here/system-deps.txt"

if [ ${#missing_packages[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The tests need these programs: ${missing_commands[*]}." >&2
  echo "Install the Debian/Ubuntu packages '${missing_packages[*]}' (for example: sudo apt-get install -y ${missing_packages[*]}) and run again." >&2
  exit 1
fi

echo "Installing ${missing_packages[*]} from Debian's packages for the tests..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >/dev/null
for command in "${missing_commands[@]}"; do
  found "$command" || { echo "installing did not provide '$command'" >&2; exit 1; }
done
