"""A stateful simulator of Twilio's Numbers v2 Regulatory Compliance API, for offline rehearsal and tests."""
