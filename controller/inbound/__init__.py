"""Inbound HTTP: Twilio's status callbacks (webhook.py, verified by callback_signature.py) and
the metrics endpoint (http_server.py). Requests only wake the engine; they never write Twilio.
"""
