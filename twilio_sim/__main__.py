"""Command line: ``python -m twilio_sim --host 127.0.0.1 --port 8089 [--account SID:TOKEN ...]``."""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from twilio_sim import sids
from twilio_sim.app import create_app


def _account(value: str) -> tuple[str, str]:
    sid, sep, token = value.partition(":")
    if not sep or not token or not sids.is_sid(sid, sids.ACCOUNT):
        raise argparse.ArgumentTypeError("expected AC<32 hex>:TOKEN")
    return sid, token


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="twilio-sim",
        description="Stateful simulator of Twilio's Regulatory Compliance API (Numbers v2).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument(
        "--account",
        action="append",
        type=_account,
        default=[],
        metavar="SID:TOKEN",
        help="preload an account (repeatable); kept across POST /_sim/reset",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    app = create_app(accounts=args.account)
    print(f"twilio-sim listening on http://{args.host}:{args.port}", file=sys.stderr, flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
