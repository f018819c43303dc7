"""``python -m flows.web --host H --port P``: the service without the ``votum`` command."""

from __future__ import annotations

import argparse
import sys

from flows.errors import VotumError
from flows.settings import get_settings
from flows.web.serve import DEFAULT_HOST, DEFAULT_PORT, serve


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.web")
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    try:
        serve(get_settings(), host=args.host, port=args.port)
    except VotumError as exc:
        print(f"votum serve failed: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
