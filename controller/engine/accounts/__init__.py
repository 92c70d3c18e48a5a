"""Every bundle of a Twilio account, not only those a BundleRenewal names.

scan.py lists an account's bundles with what each lacks (the CLI's `scan` and `scaffold`, and
the deadline query a ComplianceAccount shares); reads.py is a scan's reads, coverage.py and
renewals.py its decisions, callbacks.py registers status callbacks on approved originals. The
ComplianceAccount's loop and its Kubernetes writes are in controller/operator/accounts/.
"""
