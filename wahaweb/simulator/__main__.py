"""``python -m wahaweb.simulator``: a WAHA simulator on a real port, for manual runs and e2e."""

from __future__ import annotations

import argparse
import os

import uvicorn

from .config import ENGINES, SimulatorConfig
from .profile import PLUS_2026_7, PROFILES
from .simulator import Simulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m wahaweb.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001)
    parser.add_argument(
        "--api-key",
        default=os.environ.get("WAHA_API_KEY"),
        help="expected X-Api-Key (default: $WAHA_API_KEY; none = open API)",
    )
    parser.add_argument("--qr-delay", type=float, default=0.8, help="seconds from start to the first QR")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="divides WAHA's timers (QR lifetimes, QR wait)"
    )
    parser.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        default=PLUS_2026_7,
        help="the WAHA release to behave like (default %(default)s)",
    )
    parser.add_argument(
        "--action-delay",
        type=float,
        default=0.0,
        help="seconds stop/restart/logout/PUT take, like real WAHA's ~3 s (default 0)",
    )
    parser.add_argument("--tier", choices=("plus", "core"), default=None, help="default: the profile's")
    parser.add_argument("--engine", choices=ENGINES, default=None, help="default: the profile's")
    parser.add_argument("--log-level", default="info")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    simulator = Simulator(
        SimulatorConfig(
            api_key=args.api_key,
            qr_delay=args.qr_delay,
            time_scale=args.time_scale,
            tier=args.tier,
            engine=args.engine,
            profile=args.profile,
            action_delay=args.action_delay,
        )
    )
    uvicorn.run(simulator.app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
