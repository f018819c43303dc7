"""The SMTP envelope: addresses written as smtplib would write them."""

from __future__ import annotations

import random
import smtplib

from flows.notify.transport import envelope_address

LOCAL = "abcXYZ019!#$%&*+/=?^_`{|}~-"


def test_an_envelope_address_is_what_smtplib_quoteaddr_gives() -> None:
    rng = random.Random(7)
    addresses = ["juergen.mueller@example.com", "a@b.de", "o'brien+x@mail.example.org"]
    for _ in range(2000):
        local = ".".join(
            "".join(rng.choice(LOCAL) for _ in range(rng.randint(1, 8)))
            for _ in range(rng.randint(1, 3))
        )
        domain = ".".join(
            "".join(rng.choice("abc-019") for _ in range(rng.randint(1, 6))).strip("-") or "x"
            for _ in range(rng.randint(1, 3))
        )
        addresses.append(f"{local}@{domain}.{rng.choice(['de', 'com', 'example'])}")
    # Outside votum's rule (refused before sending anyway): quoteaddr itself.
    addresses += ["Jane <jane@example.org>", "a b@example.org", "<>", "no-at-sign", ""]
    for address in addresses:
        assert envelope_address(address) == smtplib.quoteaddr(address), address
