"""A fast local SMTP sink for the dispatch benchmark: accepts and discards every
message. Runs in its own process so that it does not share the client's interpreter:
``python -m benchmarks.smtp_sink PORT`` prints "ready" when it listens."""

from __future__ import annotations

import sys
import time
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class _Discard:
    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return "250 OK"


class _LongLines(SMTP):
    line_length_limit = 1 << 20


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _LongLines(self.handler, hostname="localhost")


def main() -> None:
    controller = _Controller(
        _Discard(), hostname="127.0.0.1", port=int(sys.argv[1]), server_hostname="localhost"
    )
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
