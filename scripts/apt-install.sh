#!/usr/bin/env bash
# Installs Debian packages a make target found missing (python3-venv for `make install`, nodejs
# and npm for `make prism`, prometheus for `make prometheus`): as root directly, else through sudo. Without either it says what to
# install and exits 1. The control plane's packages are provision.sh's business, not this one's.
#
# Usage: scripts/apt-install.sh "<what is missing>" PACKAGE...
set -euo pipefail
reason="$1"
shift
if [[ ${EUID} -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  printf 'make: %s. Install the Debian package(s) %s as root (apt-get install %s), or run make as root.\n' \
    "${reason}" "$*" "$*" >&2
  exit 1
fi
printf '== %s: apt-get install %s\n' "${reason}" "$*" >&2
"${as_root[@]}" apt-get update -q >/dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
