"""The only package that talks to Twilio: the gateway port, its SDK adapter, errors, retries.

- port.py: the TwilioGateway Protocol, the factory Protocol, credentials and error classes;
  the rest of the operator depends on these only.
- factory.py: SdkTwilioGatewayFactory(GatewaySettings) -> gateways per credentials (and a
  priority), one AccountSlots per account SID, `await factory.close()` at shutdown,
  `factory.counter` calls.
- slots.py: an account's slots, waiters served by priority; aimd.py: its adaptive limit (pure).
- sdk.py: the gateway on the twilio SDK's async client; upload.py: the multipart document upload.
- errors.py: SDK/aiohttp failures -> port errors; retry.py: the one retry policy (full jitter).
"""
