"""The two I/O seams: twilio_gateway/ (the only code that talks to Twilio) and cluster.py (the
Kubernetes client the engine reads and writes through). Fakes for tests sit at these seams.
"""
