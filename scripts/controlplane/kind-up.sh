#!/usr/bin/env bash
# Create a kind cluster and load the operator image into it: the control-plane path for people
# with a Docker engine. It cannot run on the project's build machines (no Docker there); those
# use `make cluster-up` (etcd + kube-apiserver on loopback) instead.
#
# Usage: scripts/controlplane/kind-up.sh   (prints the cluster's kubeconfig path last)
# Env:   KIND_CLUSTER  cluster name (default bundle-renewal-operator)
#        IMAGE         operator image (default bundle-renewal-operator:dev; built from ./Dockerfile
#                      when Docker does not have it yet)
# Then:  BRO_TEST_KUBECONFIG=<printed path> make test   runs the integration suite against kind.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLUSTER="${KIND_CLUSTER:-bundle-renewal-operator}"
IMAGE="${IMAGE:-bundle-renewal-operator:dev}"
KUBECONFIG_OUT="${PWD}/.tmp/kind/kubeconfig"

die() { printf '[kind-up] ERROR: %s\n' "$*" >&2; exit 1; }

for tool in docker kind; do
  command -v "${tool}" >/dev/null 2>&1 || die "${tool} is not installed (kind needs Docker)"
done
docker info >/dev/null 2>&1 ||
  die "no Docker engine is reachable, so kind cannot run here; use \`make cluster-up\` instead"

if ! kind get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
  kind create cluster --name "${CLUSTER}" --wait 120s >&2
fi
if ! docker image inspect "${IMAGE}" >/dev/null 2>&1; then
  [[ -f Dockerfile ]] || die "image ${IMAGE} not found and there is no Dockerfile to build it"
  docker build -t "${IMAGE}" . >&2
fi
kind load docker-image "${IMAGE}" --name "${CLUSTER}" >&2

mkdir -p "$(dirname "${KUBECONFIG_OUT}")"
kind get kubeconfig --name "${CLUSTER}" >"${KUBECONFIG_OUT}"
chmod 600 "${KUBECONFIG_OUT}"
printf '%s\n' "${KUBECONFIG_OUT}"
