"""A stateful simulator of Twilio's Numbers v2 Regulatory Compliance API.

For offline rehearsal of bundle renewals and for the tests of any tool that drives that API.
"""
