#!/usr/bin/env bash
# Build the operator image from ./Dockerfile with podman (`make image`; tests/integration/test_image.py).
#
# Why this exists: the project's build machines have no Docker engine and cannot pull from image
# registries, but Debian ships podman, runc and debootstrap, and Debian's mirror is reachable. So
# the Dockerfile's base (debian:bookworm-slim) is made here from Debian's packages
# (scripts/image/base-rootfs.sh), cached as a tarball under ~/.cache keyed by a hash of that
# recipe, and passed as BASE_IMAGE; every Dockerfile step then runs as in a user's build.
#
# Machine specifics, all on the command line (nothing in /etc/containers is changed):
#   --runtime runc   crun (podman's other runtime) refuses these machines' hybrid cgroups;
#   --ulimit ...     podman raises RLIMIT_NOFILE/NPROC by default, which is not permitted here;
#   --network host   the build's RUN steps reach Debian's mirror and PyPI as the host does;
#   --secret id=ca-certificates.crt   the host's CA bundle for pip (a TLS-inspecting proxy's CA is
#                    in it here); mounted for the pip steps only, never stored in the image.
#
# Usage: scripts/image/build.sh [TAG]      build (default TAG: localhost/bundle-renewal-operator:dev);
#                                          prints the image reference last
#        scripts/image/build.sh --packages install podman, runc and debootstrap when missing
#        scripts/image/build.sh --base     the base image only; prints its reference last
# Env:   BRO_CACHE_DIR   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/bundle-renewal-operator)
# Safe to rerun; concurrent runs serialise on a lock.
set -euo pipefail

readonly PACKAGES=(podman runc debootstrap)
readonly PODMAN_FLAGS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1000:1000)
readonly HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
readonly DEFAULT_TAG=localhost/bundle-renewal-operator:dev

HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "${HERE}/../.." && pwd)"
CACHE_ROOT="${BRO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bundle-renewal-operator}"
# The recipe's hash names both the cached tarball and the image it is imported as.
BASE_KEY="$(sha256sum "${HERE}/base-rootfs.sh" | cut -c1-16)"
BASE_TAR="${CACHE_ROOT}/image-base/debian-bookworm-slim-${BASE_KEY}.tar.gz"
BASE_REF="localhost/bundle-renewal-operator-base:bookworm-${BASE_KEY}"

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../apt-lib.sh
source "${HERE}/../apt-lib.sh"

ensure_packages() {
  local missing
  mapfile -t missing < <(missing_packages "${PACKAGES[@]}")
  [[ ${#missing[@]} -eq 0 ]] && return 0
  log "installing Debian packages: ${missing[*]}"
  apt_update
  apt_install "${missing[@]}" >/dev/null
}

# Podman's own storage keeps the base between runs; the tarball brings it back when that storage
# was reset, without running debootstrap again.
ensure_base() {
  if podman image exists "${BASE_REF}"; then
    log "base image: ${BASE_REF} (in podman's storage)"
    return 0
  fi
  if [[ ! -s ${BASE_TAR} ]]; then
    log "base image: debootstrap bookworm (minbase, slimmed) -> ${BASE_TAR}"
    local started=${SECONDS}
    mkdir -p "$(dirname "${BASE_TAR}")"
    as_root bash "${HERE}/base-rootfs.sh" "${BASE_TAR}.tmp"
    mv -f "${BASE_TAR}.tmp" "${BASE_TAR}"
    log "base root filesystem made in $((SECONDS - started)) s"
  fi
  log "base image: importing ${BASE_TAR}"
  # What debian:bookworm-slim's configuration says, so that the Dockerfile sees the same.
  podman import -q --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "${BASE_TAR}" "${BASE_REF}" >/dev/null
}

build_image() {
  local tag=$1
  local secret=()
  [[ -r ${HOST_CA_BUNDLE} ]] && secret=(--secret "id=ca-certificates.crt,src=${HOST_CA_BUNDLE}")
  log "podman build -t ${tag} (BASE_IMAGE=${BASE_REF})"
  local started=${SECONDS} logfile previous
  previous="$(podman image inspect --format '{{.Id}}' "${tag}" 2>/dev/null || true)"
  logfile="$(mktemp "${TMPDIR:-/tmp}/bro-image-build.XXXXXX")"
  if ! podman build "${PODMAN_FLAGS[@]}" --network host --build-arg "BASE_IMAGE=${BASE_REF}" \
    "${secret[@]}" -t "${tag}" -f "${REPO}/Dockerfile" "${REPO}" >"${logfile}" 2>&1; then
    tail -n 40 "${logfile}" >&2
    rm -f "${logfile}"
    die "podman build failed"
  fi
  rm -f "${logfile}"
  local size current
  size="$(podman image inspect --format '{{.Size}}' "${tag}")"
  current="$(podman image inspect --format '{{.Id}}' "${tag}")"
  # The image this tag named before, untagged now: removed, so that builds do not pile up (its
  # layers that the new image shares stay; podman refuses while a container uses it).
  if [[ -n ${previous} && ${previous} != "${current}" ]]; then
    podman rmi "${previous}" >/dev/null 2>&1 || true
  fi
  log "built ${tag} in $((SECONDS - started)) s; $((size / 1000000)) MB"
}

main() {
  local tag="${DEFAULT_TAG}"
  case "${1:-}" in
    --packages) ensure_packages; return 0 ;;
    --base | "") ;;
    -*) die "unknown option $1" ;;
    *) tag=$1 ;;
  esac
  ensure_packages
  mkdir -p "${CACHE_ROOT}"
  exec 9>"${CACHE_ROOT}/image.lock"
  flock 9
  ensure_base
  if [[ ${1:-} == --base ]]; then
    printf '%s\n' "${BASE_REF}"
    return 0
  fi
  build_image "${tag}"
  printf '%s\n' "${tag}"
}

# On one line so that bash, which reads scripts as it runs them, never reads past it.
main "$@"; exit $?
