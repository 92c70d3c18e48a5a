"""The ComplianceAccount's loop (daemon.py) and its Kubernetes writes (actions.py): status,
events and dry-run BundleRenewals. Its reads and decisions are in controller/engine/accounts/.
"""
