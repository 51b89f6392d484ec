"""CLI: ``python -m cf_aig.emulator --port 8787``; prints the base URL first, then serves."""

from __future__ import annotations

import argparse
import sys
import threading

from . import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cf_aig.emulator",
                                     description="Local Cloudflare AI Gateway emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--token", default=None, help="accept only this bearer token")
    parser.add_argument("--gateway", action="append", default=[],
                        help="an extra gateway id that exists (repeatable)")
    parser.add_argument("--stream-delay", type=float, default=0.0,
                        help="seconds between SSE events")
    args = parser.parse_args(argv)
    emu = Emulator(args.host, args.port, args.token, ("default", *args.gateway),
                   stream_delay=args.stream_delay)
    emu.start()
    sys.stdout.write(emu.base_url + "\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
