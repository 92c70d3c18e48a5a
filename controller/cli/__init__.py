"""`bundle-renewal` (also `kubectl bundlerenewal`): find what needs renewal, scaffold the
BundleRenewals, show one, request renewals. A client of the operator's CRD and of Twilio,
above the gateway; the operator itself never imports it (import-linter contracts).

- app.py: arguments, dispatch, exit codes; errors.py: the exit codes and the errors behind them.
- access.py: Twilio credentials (environment or a Secret) and the gateway; kube.py: the cluster.
- scan.py: gathers bundles, numbers, coverage and evaluations; scaffold.py, status.py and
  renew.py: the other commands; output.py: tables, YAML, JSON and durations.
"""
