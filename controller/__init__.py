"""bundle-renewal-operator: a Kopf operator that renews Twilio Regulatory Compliance bundles."""
