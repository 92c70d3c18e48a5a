#!/usr/bin/env bash
# Installs Debian packages a make target found missing (python3-venv for `make install`, nodejs
# and npm for `make prism`, prometheus for `make prometheus`): as root directly, else through
# sudo. Without either it says what to install and exits 1. The control plane's packages are
# provision.sh's business, not this one's.
#
# Usage: scripts/apt-install.sh "<what is missing>" PACKAGE...
set -euo pipefail
die() { printf 'make: %s\n' "$*" >&2; exit 1; }
# shellcheck source=apt-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-lib.sh"
reason="$1"
shift
can_be_root ||
  die "${reason}. Install the Debian package(s) $* as root (apt-get install $*), or run make as root."
printf '== %s: apt-get install %s\n' "${reason}" "$*" >&2
apt_update
apt_install "$@"
