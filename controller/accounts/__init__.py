"""Every bundle of a Twilio account, not only those a BundleRenewal names.

scan.py lists an account's bundles with what each lacks (the CLI's `scan` and `scaffold`, and
the deadline query a ComplianceAccount shares); the ComplianceAccount's loop is daemon.py, its
reads reads.py, its decisions coverage.py and renewals.py, its writes actions.py and
callbacks.py.
"""
