"""The only package that talks to Twilio: the gateway port, its SDK adapter, errors, retries."""
