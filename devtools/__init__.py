"""The project's development tools, importable by tests and run with `python -m`.

docs_reference.py (the docs' generated tables), alert_rules.py (the PrometheusRule and its
runbooks), health_checks.py (kstatus and Argo CD health over captured statuses), metrics_size.py (a
full /metrics and its size), dependency_lock.py (the locks' pyproject fingerprint),
operator_runner.py and operator_image.py (the operator as a process or an image),
controlplane/ (the local kube-apiserver + etcd) and demo/ (`make demo`). Shell scripts are in
scripts/. Nothing in controller/ imports this package.
"""
