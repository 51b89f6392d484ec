"""CLI: ``python -m cf_aig.emulator --port 8787`` serves a local AI Gateway until Ctrl-C.

It prints the base URL first (one line), or with ``--print-env`` the ``export`` lines that
point your own code at it. Any account id and any non-empty token work (unless
``--token`` is given).
"""

from __future__ import annotations

import argparse
import errno
import shlex
import sys
import threading

from . import Emulator
from .server import Limits
from .store import DEFAULT_MAX_HISTORY

EPILOG = """\
Point your own code at it (any account id and any non-empty token work): run
"python -m cf_aig.emulator --print-env" and paste the lines it prints into the shell that
runs your code, e.g.

  export CLOUDFLARE_AI_GATEWAY_BASE_URL=http://127.0.0.1:8787/client/v4
  export CLOUDFLARE_ACCOUNT_ID=emulator
  export CLOUDFLARE_API_TOKEN=emulator-token

In pytest, the fixtures cf_aig_emulator and cf_aig_env do this for you (see cf_aig.testing).
"""


def env_lines(emu: Emulator, token: str | None = None) -> list[str]:
    """``export NAME=value`` lines (shell-quoted) for :meth:`Emulator.env`."""
    env = emu.env(token) if token else emu.env()
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def build_parser() -> argparse.ArgumentParser:
    """The command-line options, each with its default shown in ``--help``."""
    parser = argparse.ArgumentParser(
        prog="python -m cf_aig.emulator",
        description="A local Cloudflare AI Gateway on loopback: the same paths and wire as\n"
        "https://api.cloudflare.com/client/v4 (chat completions, messages, responses,\n"
        "embeddings, /ai/run, logs), with deterministic models, caching, logs, feedback and\n"
        "faults. Serves until interrupted (Ctrl-C).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8787,
                        help="TCP port; 0 picks a free one (default: %(default)s)")
    parser.add_argument("--account-id", default="emulator",
                        help="account id printed by --print-env; requests for any account id "
                        "are served (default: %(default)s)")
    parser.add_argument("--token", default=None,
                        help="accept only this bearer token (default: any non-empty token)")
    parser.add_argument("--gateway", action="append", default=[], metavar="ID",
                        help="an extra gateway id that exists, repeatable "
                        "(default: only 'default')")
    parser.add_argument("--stream-delay", type=float, default=0.0, metavar="SECONDS",
                        help="pause between SSE events (default: %(default)s)")
    parser.add_argument("--max-request-bytes", type=int, default=Limits.max_request_bytes,
                        metavar="BYTES", help="larger request bodies get 413 (default: "
                        "%(default)s)")
    parser.add_argument("--header-timeout", type=float, default=Limits.header_timeout,
                        metavar="SECONDS", help="time allowed for a request head "
                        "(default: %(default)s)")
    parser.add_argument("--idle-timeout", type=float, default=Limits.idle_timeout,
                        metavar="SECONDS", help="silence allowed on a connection "
                        "(default: %(default)s)")
    parser.add_argument("--body-timeout", type=float, default=Limits.body_timeout,
                        metavar="SECONDS", help="time allowed for a request body "
                        "(default: %(default)s)")
    parser.add_argument("--max-history", type=int, default=DEFAULT_MAX_HISTORY, metavar="N",
                        help="recorded requests and logs per gateway kept (default: "
                        "%(default)s)")
    parser.add_argument("--print-env", action="store_true",
                        help="print 'export CLOUDFLARE_...=' lines for your shell instead of "
                        "the bare base URL")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (2 when the address cannot be bound)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    emu = Emulator(args.host, args.port, args.token, ("default", *args.gateway),
                   account_id=args.account_id, stream_delay=args.stream_delay,
                   max_request_bytes=args.max_request_bytes,
                   header_timeout=args.header_timeout, idle_timeout=args.idle_timeout,
                   body_timeout=args.body_timeout, max_history=args.max_history)
    try:
        emu.start()
    except OSError as exc:
        why = ("is already in use" if exc.errno == errno.EADDRINUSE
               else f"cannot be bound ({exc.strerror or exc})")
        sys.stderr.write(f"cf_aig.emulator: {args.host}:{args.port} {why}; choose another "
                         "with --port N (or --port 0 for any free port)\n")
        return 2
    lines = env_lines(emu, args.token) if args.print_env else [emu.base_url]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    if not args.print_env:  # stdout stays the bare URL for scripts that read it
        sys.stderr.write("cf_aig.emulator: serving until Ctrl-C; to point your own code at it, "
                         "set CLOUDFLARE_AI_GATEWAY_BASE_URL to that URL plus any "
                         "CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (--print-env prints "
                         "the export lines)\n")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
