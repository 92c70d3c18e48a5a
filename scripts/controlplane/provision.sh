#!/usr/bin/env bash
# Provision the local Kubernetes control plane used by the integration tests and the demo.
#
# Why this exists: these machines have no Docker (so no kind) and no registry ships a
# kube-apiserver binary, but Debian bookworm ships etcd and the full `kubernetes` source
# package (1.20.5+really1.20.2, with a complete vendor/ tree). This script installs the
# Debian packages and builds kube-apiserver from that source once, caching the binary under
# ~/.cache keyed by version and build recipe, so every later run takes seconds. It also caches
# Debian's kubectl of the same version (package kubernetes-client), extracted from the .deb
# rather than installed: the package's /usr/bin/kubectl would clash with a kubectl already there
# (e.g. the `kubectl` package's Google Cloud SDK dispatcher), and dpkg refuses that.
#
# Usage: scripts/controlplane/provision.sh               provision; prints the kube-apiserver path last
#        scripts/controlplane/provision.sh --print-path  print where the cached binary lives; no action
#        scripts/controlplane/provision.sh --print-kubectl-path   the same for the cached kubectl
# Env:   BRO_CACHE_DIR   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/bundle-renewal-operator)
#        BRO_KEEP_BUILD  keep the build tree after a successful build when set to 1
# Safe to rerun: every step checks before it acts; concurrent runs serialise on a lock.
set -euo pipefail

# Upstream version inside Debian's source package, and the version the server reports.
readonly K8S_DEB_UPSTREAM="1.20.5+really1.20.2"
readonly K8S_GIT_VERSION="v1.20.2"
readonly K8S_GIT_MAJOR="1"
readonly K8S_GIT_MINOR="20"
# Bump when the build recipe changes so that cached binaries are rebuilt.
readonly RECIPE_REV="2"
readonly GO_BIN_DIR="/usr/lib/go-1.19/bin"

readonly RUNTIME_PACKAGES=(etcd-server openssl)
readonly BUILD_PACKAGES=(golang-1.19-go rsync dpkg-dev golang-github-modern-go-reflect2-dev
  golang-github-json-iterator-go-dev)
readonly SRC_LIST="/etc/apt/sources.list.d/bundle-renewal-operator-deb-src.sources"

CACHE_ROOT="${BRO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bundle-renewal-operator}"
BIN_DIR="${CACHE_ROOT}/kube-apiserver/${K8S_GIT_VERSION}-r${RECIPE_REV}"
BIN="${BIN_DIR}/kube-apiserver"
BUILD_WORK="${CACHE_ROOT}/build"
KUBECTL_BIN="${CACHE_ROOT}/kubectl/${K8S_GIT_VERSION}/kubectl"

log() { printf '[provision] %s\n' "$*" >&2; }
die() { printf '[provision] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../apt-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../apt-lib.sh"

has_deb_src() {
  # `apt-cache showsrc` lists nothing unless a deb-src entry for the package is known.
  [[ -n "$(apt-cache showsrc kubernetes 2>/dev/null | head -n1)" ]]
}

binary_is_good() {
  [[ -x "${BIN}" ]] && "${BIN}" --version 2>/dev/null | grep -qx "Kubernetes ${K8S_GIT_VERSION}"
}

kubectl_is_good() {
  [[ -x "${KUBECTL_BIN}" ]] &&
    "${KUBECTL_BIN}" version --client --short 2>/dev/null | grep -qx "Client Version: ${K8S_GIT_VERSION}"
}

# --- kubectl: Debian's kubernetes-client of the server's version, extracted into the cache -----
ensure_kubectl() {
  kubectl_is_good && return 0
  local work
  work="$(mktemp -d)"
  # apt-get download runs as _apt when it can; a world-writable directory lets it.
  chmod 0777 "${work}"
  log "fetching Debian's kubernetes-client (kubectl ${K8S_GIT_VERSION})"
  if ! (cd "${work}" && apt-get download -q kubernetes-client >/dev/null 2>&1); then
    apt_update
    (cd "${work}" && apt-get download -q kubernetes-client >/dev/null 2>&1) ||
      { rm -rf "${work}"; die "apt-get download kubernetes-client failed"; }
  fi
  local deb
  deb="$(ls "${work}"/kubernetes-client_*.deb)"
  [[ "$(basename "${deb}")" == "kubernetes-client_${K8S_DEB_UPSTREAM}-"* ]] ||
    { rm -rf "${work}"; die "unexpected kubernetes-client version $(basename "${deb}")"; }
  dpkg-deb -x "${deb}" "${work}/root"
  mkdir -p "$(dirname "${KUBECTL_BIN}")"
  install -m 0755 "${work}/root/usr/bin/kubectl" "${KUBECTL_BIN}.tmp"
  mv -f "${KUBECTL_BIN}.tmp" "${KUBECTL_BIN}"
  rm -rf "${work}"
  kubectl_is_good || die "extracted ${KUBECTL_BIN} but it does not report ${K8S_GIT_VERSION}"
  log "kubectl: ${KUBECTL_BIN}"
}

# --- apt: one `apt-get update`, only when something is missing -------------------------------
ensure_packages() {
  local need_build=$1
  local wanted=("${RUNTIME_PACKAGES[@]}")
  if [[ ${need_build} == 1 ]]; then
    wanted+=("${BUILD_PACKAGES[@]}")
  fi
  local missing
  mapfile -t missing < <(missing_packages "${wanted[@]}")
  local need_src=0
  if [[ ${need_build} == 1 ]] && ! has_deb_src; then
    need_src=1
  fi
  if [[ ${#missing[@]} -eq 0 && ${need_src} -eq 0 ]]; then
    return 0
  fi
  if [[ ${need_src} -eq 1 ]]; then
    log "adding a deb-src entry for bookworm: ${SRC_LIST}"
    as_root tee "${SRC_LIST}" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  log "apt-get update"
  apt_update
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing: ${missing[*]}"
    # With systemd the package also starts its own etcd service on 2379; ours uses free ports.
    apt_install "${missing[@]}" >/dev/null
  fi
  has_deb_src || [[ ${need_build} == 0 ]] || die "no deb-src entry for the kubernetes source package"
}

# --- build kube-apiserver from Debian's source package ----------------------------------------
build_apiserver() {
  local work="${BUILD_WORK}"
  rm -rf "${work}"
  mkdir -p "${work}/download"
  if [[ ${BRO_KEEP_BUILD:-0} != 1 ]]; then
    trap 'rm -rf "${BUILD_WORK}"' EXIT
  fi

  log "fetching the kubernetes source package"
  (cd "${work}/download" && apt-get source --download-only -q kubernetes >/dev/null 2>&1) ||
    die "apt-get source --download-only kubernetes failed"
  local dsc
  dsc="$(ls "${work}"/download/kubernetes_*.dsc)"
  [[ "$(basename "${dsc}")" == "kubernetes_${K8S_DEB_UPSTREAM}-"* ]] ||
    die "unexpected source version $(basename "${dsc}"); expected ${K8S_DEB_UPSTREAM}"

  local src="${work}/src"
  # apt already verified the files against the signed Sources index; dpkg-source cannot check
  # the .dsc signature without debian-keyring and would only warn, so its chatter goes to a log.
  dpkg-source -x "${dsc}" "${src}" >"${work}/dpkg-source.log" 2>&1 ||
    { cat "${work}/dpkg-source.log" >&2; die "dpkg-source -x failed"; }

  # The vendored reflect2 1.0.1 crashes (SIGSEGV) on the first custom-resource write when built
  # with Go >= 1.18; Debian's reflect2 1.0.2 and the matching json-iterator 1.1.12 fix that.
  local gocode=/usr/share/gocode/src/github.com
  local pkg
  for pkg in modern-go/reflect2 json-iterator/go; do
    [[ -d "${gocode}/${pkg}" ]] || die "missing Debian Go source ${gocode}/${pkg}"
    rm -rf "${src}/vendor/github.com/${pkg}"
    cp -aL "${gocode}/${pkg}" "${src}/vendor/github.com/${pkg}"
    find "${src}/vendor/github.com/${pkg}" -name '*_test.go' -delete
  done

  export PATH="${GO_BIN_DIR}:${PATH}"
  export CGO_ENABLED=0 GO111MODULE=off GOFLAGS=""
  log "go: $(go version)"

  log "make generated_files (OpenAPI definitions, deep-copy, ...)"
  (cd "${src}" && make generated_files >"${work}/generated_files.log" 2>&1) ||
    { tail -n 40 "${work}/generated_files.log" >&2; die "make generated_files failed"; }

  # GOPATH mode: the tree linked at $GOPATH/src/k8s.io/kubernetes (the Makefile made this link).
  export GOPATH="${src}/_output/local/go"
  export GOCACHE="${GOPATH}/cache"
  mkdir -p "${GOPATH}/src/k8s.io"
  [[ -e "${GOPATH}/src/k8s.io/kubernetes" ]] || ln -s "${src}" "${GOPATH}/src/k8s.io/kubernetes"

  # Both version packages, as hack/lib/version.sh does: the aggregator (which answers /version)
  # reads client-go's copy, `kube-apiserver --version` reads component-base's.
  local ldflags="-s -w" vpkg
  for vpkg in k8s.io/kubernetes/vendor/k8s.io/component-base/version \
    k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
    ldflags+=" -X ${vpkg}.gitVersion=${K8S_GIT_VERSION}"
    ldflags+=" -X ${vpkg}.gitMajor=${K8S_GIT_MAJOR}"
    ldflags+=" -X ${vpkg}.gitMinor=${K8S_GIT_MINOR}"
    ldflags+=" -X ${vpkg}.gitTreeState=clean"
    ldflags+=" -X ${vpkg}.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done

  log "go build k8s.io/kubernetes/cmd/kube-apiserver (a clean build takes 3-10 min on 2 cores)"
  mkdir -p "${BIN_DIR}"
  (cd "${GOPATH}/src/k8s.io/kubernetes" &&
    go build -trimpath -ldflags "${ldflags}" -o "${BIN}.tmp" k8s.io/kubernetes/cmd/kube-apiserver \
      >"${work}/build.log" 2>&1) ||
    { tail -n 40 "${work}/build.log" >&2; die "go build kube-apiserver failed"; }
  mv -f "${BIN}.tmp" "${BIN}"
  binary_is_good || die "built ${BIN} but it does not report ${K8S_GIT_VERSION}"
}

main() {
  if [[ ${1:-} == --print-path ]]; then
    printf '%s\n' "${BIN}"
    return 0
  fi
  if [[ ${1:-} == --print-kubectl-path ]]; then
    printf '%s\n' "${KUBECTL_BIN}"
    return 0
  fi
  mkdir -p "${CACHE_ROOT}"
  # Serialise concurrent provisioning (e.g. `make envtest` and a test fixture at once).
  exec 9>"${CACHE_ROOT}/provision.lock"
  flock 9

  if binary_is_good; then
    ensure_packages 0
    log "cached: ${BIN}"
  else
    local started=${SECONDS}
    ensure_packages 1
    build_apiserver
    log "built in $((SECONDS - started)) s: ${BIN}"
  fi
  command -v etcd >/dev/null 2>&1 || die "etcd not on PATH after installing etcd-server"
  ensure_kubectl
  printf '%s\n' "${BIN}"
}

# On one line so that bash, which reads scripts as it runs them, never reads past it.
main "$@"; exit $?
