"""Every bundle of a Twilio account, not only those a BundleRenewal names: the scanner the CLI's
`scan` and the ComplianceAccount share."""
