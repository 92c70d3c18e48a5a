"""Entry point: `python -m controller`, or the `bundle-renewal-operator` console script.

Reads the settings from the environment, sets up logging, registers the handlers in a registry of
their own, and runs Kopf on the watched namespaces (or the whole cluster), standalone or peering
with the other replicas (peering.py). Bad settings stop the
process with a message and exit status 2 before anything connects anywhere.
"""

from __future__ import annotations

import logging
import os
import sys

import kopf
from pydantic import ValidationError

from controller.core.settings import LogFormat, OperatorSettings, replaced_variables_in
from controller.operator import lean_bodies
from controller.operator.handlers import build_registry, configure_kopf
from controller.operator.liveness import Insights
from controller.operator.peering import Peering
from controller.operator.tls_buffers import shrink_tls_read_buffers
from controller.telemetry import redaction

_KOPF_LOG_FORMATS = {
    LogFormat.PLAIN: kopf.LogFormat.PLAIN,
    LogFormat.FULL: kopf.LogFormat.FULL,
    LogFormat.JSON: kopf.LogFormat.JSON,
}

# Chatty libraries: the Twilio SDK logs every request and its headers at INFO.
_QUIET_LOGGERS = ("twilio", "urllib3", "kubernetes", "aiohttp.access")

logger = logging.getLogger(__name__)


def configure_logging(settings: OperatorSettings) -> None:
    kopf.configure(
        debug=settings.log_level == "DEBUG",
        log_format=_KOPF_LOG_FORMATS[settings.log_format],
        log_prefix=settings.log_format is not LogFormat.JSON,
    )
    logging.getLogger().setLevel(settings.log_level_number)
    redaction.install()  # Kopf logs whole bodies (with attribute values) at DEBUG
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, settings.log_level_number))


def main() -> int:
    try:
        settings = OperatorSettings()
    except ValidationError as exc:
        print(f"bundle-renewal-operator: invalid settings:\n{exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    for warning in replaced_variables_in(os.environ):
        logger.warning(warning)
    peering = Peering.from_settings(settings)
    if peering.enabled:
        logger.info("peering %r with priority %d", peering.name, peering.priority)
    insights = Insights()  # what Kopf watches, shared with the liveness probe
    shrink_tls_read_buffers()  # memory per concurrent API request (tls_buffers.py)
    lean_bodies.install()  # memory per resource: Kopf keeps no managedFields (lean_bodies.py)
    kopf.run(
        registry=build_registry(settings, insights, peering),
        settings=configure_kopf(kopf.OperatorSettings(), peering),
        insights=insights,
        clusterwide=settings.clusterwide,
        namespaces=settings.watch_namespaces,
        liveness_endpoint=settings.liveness_endpoint,
        **peering.run_arguments(),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
