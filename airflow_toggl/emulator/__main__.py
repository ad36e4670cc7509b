"""``toggl-emulator`` / ``python -m airflow_toggl.emulator``: run the emulator until stopped.

The emulator hands out passwords and tokens to anyone who can reach it, so it refuses to
listen anywhere but loopback unless ``--allow-remote`` says so.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from airflow_toggl.emulator.config import (
    COOKIE_STYLES,
    DEFAULT_SESSION_TTL,
    OPTION_NAMES,
    PLAN_QUOTAS,
    RATE_LIMIT_KEYS,
)
from airflow_toggl.emulator.seeding import SEEDED


def is_loopback(host: str) -> bool:
    """Whether ``host`` names a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_user(text: str) -> dict[str, Any]:
    """``EMAIL:PASSWORD[:API_TOKEN]`` (the password cannot contain ``:``)."""
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise argparse.ArgumentTypeError("expected EMAIL:PASSWORD[:API_TOKEN]")
    return {"email": parts[0], "password": parts[1], "api_token": parts[2] if len(parts) == 3 else None}


def _retry_after(text: str) -> float | str:
    """``http-date`` or a number of seconds."""
    if text == "http-date":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected seconds or 'http-date'") from None


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="toggl-emulator", description="Run a local Toggl (accounts + Track API v9) for tests and demos."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default 0: a free port)")
    parser.add_argument(
        "--allow-remote", action="store_true", help="allow binding a non-loopback address (exposes secrets)"
    )
    parser.add_argument(
        "--user",
        action="append",
        type=parse_user,
        default=[],
        metavar="EMAIL:PASSWORD[:API_TOKEN]",
        help="create an account (repeatable)",
    )
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a generated CA")
    parser.add_argument("--tls-dir", help="where to write ca.pem and the server certificate")
    parser.add_argument("--cookie-style", choices=COOKIE_STYLES, default="standard")
    parser.add_argument("--session-ttl", type=int, default=DEFAULT_SESSION_TTL, help="seconds")
    parser.add_argument("--rate-limit-rps", type=float, default=None)
    parser.add_argument("--rate-limit-burst", type=int, default=1)
    parser.add_argument("--rate-limit-retry-after", type=_retry_after, default=None)
    parser.add_argument(
        "--rate-limit-key",
        choices=RATE_LIMIT_KEYS,
        default="account",
        help="one bucket per account (every credential of it together) or per credential",
    )
    parser.add_argument(
        "--rate-limit-strict",
        action="store_true",
        help="admit exactly one request per second, no burst (sets the bucket to 1 req/s, burst 1)",
    )
    parser.add_argument("--quota-limit", type=int, default=None, help="one hourly limit for both quotas")
    parser.add_argument("--user-quota-limit", type=int, default=None, help="requests naming no workspace")
    parser.add_argument(
        "--organization-quota-limit", type=int, default=None, help="requests naming a workspace or organization"
    )
    parser.add_argument(
        "--plan-quotas",
        action="store_true",
        help="Toggl's own quotas: 30 an hour for the user, 30/240/600 per organization by plan",
    )
    parser.add_argument(
        "--no-meter-logged",
        dest="meter_logged",
        action="store_false",
        help="do not count GET /api/v9/me/logged against the user quota",
    )
    parser.add_argument("--quota-window", type=float, default=3600.0, help="seconds")
    seed = parser.add_argument_group("data given to every --user")
    seed.add_argument("--plan", choices=tuple(PLAN_QUOTAS), default=None, help="the organization's plan")
    for name in SEEDED:
        seed.add_argument(f"--{name.replace('_', '-')}", type=int, default=0, metavar="N", help=f"add N {name}")
    parser.add_argument("--ready-file", help="write {url, ca_bundle, pid} as JSON here once listening")
    return parser


def _write_ready_file(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically so a waiting script never reads half a file."""
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(payload), encoding="utf-8")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGTERM or SIGINT; returns the exit code."""
    args = build_parser().parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"toggl-emulator: refusing to bind non-loopback host {args.host!r}; "
            "pass --allow-remote if you really mean it",
            file=sys.stderr,
        )
        return 2
    from airflow_toggl.emulator.server import TogglEmulator

    try:
        settings = {name: getattr(args, name) for name in OPTION_NAMES if name != "clock"}
        emulator = TogglEmulator(args.host, args.port, tls=args.tls, tls_dir=args.tls_dir, **settings)
        for user in args.user:
            emulator.add_user(user["email"], user["password"], api_token=user["api_token"])
            emulator.seed(user["email"], plan=args.plan, **{name: getattr(args, name) for name in SEEDED})
        emulator.start()
    except (OSError, ValueError) as exc:
        print(f"toggl-emulator: {exc}", file=sys.stderr)
        return 1

    stopping = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    ready = Path(args.ready_file) if args.ready_file else None
    try:
        if ready is not None:
            info = {"url": emulator.url, "ca_bundle": emulator.ca_bundle, "pid": os.getpid()}
            _write_ready_file(ready, info)
        print(f"Toggl emulator listening on {emulator.url}", flush=True)
        while not stopping.wait(0.5):
            pass
    finally:
        emulator.stop()
        if ready is not None:
            ready.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
