"""Binance's error answers: a code, a message and the HTTP status, as ccxt reads them.

Codes and messages are Binance USDⓈ-M's (LIVE.md §1.3; ccxt 4.5.90's ``binance.py`` exception
tables name the class each maps to). A :class:`VenueError` raised anywhere in the venue becomes
``{"code": ..., "msg": ...}`` with its status.
"""

from __future__ import annotations


class VenueError(Exception):
    """A request the venue refuses, with Binance's code, message and HTTP status."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def too_many_requests() -> VenueError:
    return VenueError(
        -1003,
        "Too many requests; current limit of IP is 2400 requests per minute.",
        429,
    )


def ip_banned(until_ms: int) -> VenueError:
    return VenueError(-1003, f"Way too many requests; IP banned until {until_ms}.", 418)


def bad_timestamp() -> VenueError:
    return VenueError(-1021, "Timestamp for this request is outside of the recvWindow.")


def bad_signature() -> VenueError:
    return VenueError(-1022, "Signature for this request is not valid.")


def missing(parameter: str) -> VenueError:
    return VenueError(
        -1102, f"Mandatory parameter '{parameter}' was not sent, was empty/null, or malformed."
    )


def bad_value(parameter: str, value: str) -> VenueError:
    return VenueError(-1130, f"Data sent for parameter '{parameter}' is not valid: {value!r}.")


def bad_precision() -> VenueError:
    return VenueError(-1111, "Precision is over the maximum defined for this asset.")


def bad_symbol() -> VenueError:
    return VenueError(-1121, "Invalid symbol.")


def bad_api_key_format() -> VenueError:
    return VenueError(-2014, "API-key format invalid.", 401)


def bad_api_key() -> VenueError:
    return VenueError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def unknown_order() -> VenueError:
    return VenueError(-2011, "Unknown order sent.")


def no_such_order() -> VenueError:
    return VenueError(-2013, "Order does not exist.")


def insufficient_margin() -> VenueError:
    return VenueError(-2019, "Margin is insufficient.")


def reduce_only_rejected() -> VenueError:
    return VenueError(-2022, "ReduceOnly Order is rejected.")


def above_max_position() -> VenueError:
    return VenueError(-2027, "Exceeded the maximum allowable position at current leverage.")


def bad_leverage(leverage: str) -> VenueError:
    return VenueError(-4028, f"Leverage {leverage} is not valid")


def bad_tick() -> VenueError:
    return VenueError(-4014, "Price not increased by tick size.")


def margin_type_unchanged() -> VenueError:
    return VenueError(-4046, "No need to change margin type.")


def margin_type_open_orders() -> VenueError:
    return VenueError(-4047, "Margin type cannot be changed if there exists open orders.")


def margin_type_position() -> VenueError:
    return VenueError(-4048, "Margin type cannot be changed if there exists position.")


def cross_balance_insufficient() -> VenueError:
    return VenueError(-4050, "Cross balance insufficient.")


def isolated_balance_insufficient() -> VenueError:
    return VenueError(-4051, "Isolated balance insufficient.")


def position_side_unchanged() -> VenueError:
    return VenueError(-4059, "No need to change position side.")


def position_side_mismatch() -> VenueError:
    return VenueError(-4061, "Order's position side does not match user's setting.")


def position_side_open_orders() -> VenueError:
    return VenueError(-4067, "Position side cannot be changed if there exists open orders.")


def position_side_position() -> VenueError:
    return VenueError(-4068, "Position side cannot be changed if there exists position.")


def duplicate_client_id() -> VenueError:
    return VenueError(-4116, "ClientOrderId is duplicated.")


def min_notional(minimum: float) -> VenueError:
    return VenueError(
        -4164,
        f"Order's notional must be no smaller than {minimum:g} (unless you choose reduce only).",
    )


def multi_assets_unsupported() -> VenueError:
    return VenueError(-4171, "Multi-Assets mode is not available on this venue (one USDT wallet).")
