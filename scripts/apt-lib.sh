# Debian package helpers shared by the scripts that install what they need (sourced, not run):
# scripts/apt-install.sh (make targets), scripts/controlplane/provision.sh, scripts/image/build.sh.
# The caller defines die() first; as_root uses it when neither root nor sudo is available.

# Whether this process can run a command as root: it is root, or sudo is there.
can_be_root() {
  [[ ${EUID} -eq 0 ]] || command -v sudo >/dev/null 2>&1
}

as_root() {
  if [[ ${EUID} -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# The given packages that are not installed, one per line.
missing_packages() {
  local pkg
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null)" != "install ok installed" ]]; then
      printf '%s\n' "${pkg}"
    fi
  done
}

apt_update() {
  as_root apt-get update -q >/dev/null
}

# Install packages, without recommends or questions (apt_update first when the lists may be old).
apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}
