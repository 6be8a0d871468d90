"""Contract arithmetic of an instrument: notional, unrealized PnL and funding payment.

The formulas are :mod:`levtrade.margin.formulas`' (linear and inverse); these pick the right
one for an :class:`~levtrade.model.Instrument`, for callers that hold an instrument rather
than its contract size and kind.
"""

from __future__ import annotations

from levtrade.margin import formulas
from levtrade.model.instrument import Instrument


def notional(instrument: Instrument, size: float, price: float) -> float:
    """Position notional in the margin currency."""
    if instrument.is_inverse:
        return formulas.inverse_notional(size, instrument.contract_size, price)
    return formulas.linear_notional(size, instrument.contract_size, price)


def upnl(instrument: Instrument, size: float, entry_price: float, price: float) -> float:
    """Unrealized PnL of ``size`` contracts entered at ``entry_price``, valued at ``price``."""
    if instrument.is_inverse:
        return formulas.inverse_upnl(size, instrument.contract_size, entry_price, price)
    return formulas.linear_upnl(size, instrument.contract_size, entry_price, price)


def funding_payment(instrument: Instrument, size: float, price: float, rate: float) -> float:
    """Funding received (negative when paid) by ``size`` contracts at ``price``."""
    if instrument.is_inverse:
        return formulas.inverse_funding_payment(size, instrument.contract_size, price, rate)
    return formulas.funding_payment(size, instrument.contract_size, price, rate)
