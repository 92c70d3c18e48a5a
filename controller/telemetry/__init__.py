"""Observability bookkeeping: Prometheus families, histograms, loop lag and log redaction.

Pure (no web framework, Kopf, cluster or Twilio): every layer above records into it, and
controller/inbound/http_server.py serves what it renders.
"""
