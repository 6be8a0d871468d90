"""Binance's signature check, on the example of Binance's API documentation ("SIGNED Endpoint
Examples for POST /api/v3/order"): the secret, the query and the signature are the doc's."""

from __future__ import annotations

import pytest

from levtrade.localvenue import signing
from levtrade.localvenue.errors import VenueError

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
NOW = 1499827319559


def test_the_documented_signature() -> None:
    assert signing.sign(SECRET, QUERY) == SIGNATURE
    signing.verify(f"{QUERY}&signature={SIGNATURE}", "", SECRET, NOW)  # in the query
    signing.verify("", f"{QUERY}&signature={SIGNATURE}", SECRET, NOW)  # as a form body
    # the doc's mixed example: part in the query, the rest in the body, signed as the two
    # texts one after the other (no "&" between them)
    head, tail = QUERY.split("&quantity=")
    mixed = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    signing.verify(head, f"quantity={tail}&signature={mixed}", SECRET, NOW)


@pytest.mark.parametrize(
    ("query", "now", "code"),
    [
        (f"{QUERY}&signature={'0' * 64}", NOW, -1022),  # another signature
        (QUERY, NOW, -1102),  # none
        (f"{QUERY}&signature={SIGNATURE}", NOW + 5_001, -1021),  # older than recvWindow
        (f"{QUERY}&signature={SIGNATURE}", NOW - 1_001, -1021),  # more than 1 s ahead
    ],
)
def test_refusals(query: str, now: int, code: int) -> None:
    with pytest.raises(VenueError) as refused:
        signing.verify(query, "", SECRET, now)
    assert refused.value.code == code
