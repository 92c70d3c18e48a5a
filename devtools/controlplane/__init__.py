"""A real Kubernetes control plane (etcd + kube-apiserver 1.20) on loopback, for tests and the demo.

Operators break where a mock API server cannot follow: CRD schema validation, the status
subresource, resourceVersion conflicts, finalizers, RBAC and watch semantics. This package starts
the real thing on free 127.0.0.1 ports with a throwaway data directory, and stops it leaving no
process, port or directory behind. ``provision.sh`` beside it installs etcd and builds the
kube-apiserver binary once (cached under ~/.cache).

Import it as ``devtools.controlplane`` from the repository root (pytest's ``pythonpath`` has
it); ``python -m devtools.controlplane up`` is the command line.
"""

from devtools.controlplane.cluster import ClusterEndpoints, ControlPlaneError, LocalControlPlane
from devtools.controlplane.kubectl import kubectl_command
from devtools.controlplane.provision import ProvisioningError, ensure_binaries

__all__ = [
    "ClusterEndpoints",
    "ControlPlaneError",
    "LocalControlPlane",
    "ProvisioningError",
    "ensure_binaries",
    "kubectl_command",
]
