"""Kopf wiring: handlers, the per-resource daemon, status writes, the runtime, HA and start-up.

handlers.py registers everything with Kopf; daemon.py runs one BundleRenewal's loop and
accounts/ a ComplianceAccount's; status_sink.py writes status; runtime.py builds the shared
clients; peering.py, liveness.py and discovery.py are HA and start-up; diffbase.py,
lean_bodies.py and tls_buffers.py tune Kopf's memory. Handlers only wire: decisions live in
controller.core, I/O in controller.engine and controller.adapters.
"""
