"""Fakes shared by the test tiers, at the seams the operator has: FakeTwilio behind the
Twilio gateway port (fake_twilio.py, with reconcile helpers), and a FakeTwilio that applies
regulations (fake_regulations.py). Their own tests are here too."""
