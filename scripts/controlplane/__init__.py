"""A real Kubernetes control plane (etcd + kube-apiserver 1.20) on loopback, for tests and the demo.

Operators break where a mock API server cannot follow: CRD schema validation, the status
subresource, resourceVersion conflicts, finalizers, RBAC and watch semantics. This package starts
the real thing on free 127.0.0.1 ports with a throwaway data directory, and stops it leaving no
process, port or directory behind. ``provision.sh`` beside it installs etcd and builds the
kube-apiserver binary once (cached under ~/.cache).

Import it with ``scripts/`` on the path (pytest's ``pythonpath`` does this for the tests;
``PYTHONPATH=scripts python -m controlplane up`` for the command line).
"""

from controlplane.cluster import ClusterEndpoints, ControlPlaneError, LocalControlPlane
from controlplane.kubectl import kubectl_command
from controlplane.provision import ProvisioningError, ensure_binaries

__all__ = [
    "ClusterEndpoints",
    "ControlPlaneError",
    "LocalControlPlane",
    "ProvisioningError",
    "ensure_binaries",
    "kubectl_command",
]
