"""Contract arithmetic of an instrument: notional, unrealized PnL and funding payment.

The formulas are :mod:`levtrade.margin.formulas`' (linear and inverse); these pick the right
one for an :class:`~levtrade.model.Instrument`, for callers that hold an instrument rather
than its contract size and kind. They call the formulas' plain originals
(:func:`levtrade._jit.plain`): scalar arithmetic, for which Numba's dispatch (and, in a fresh
process, loading Numba) costs more than the formula.
"""

from __future__ import annotations

from levtrade._jit import plain
from levtrade.margin import formulas
from levtrade.model.instrument import Instrument

_LINEAR_NOTIONAL = plain(formulas.linear_notional)
_INVERSE_NOTIONAL = plain(formulas.inverse_notional)
_LINEAR_UPNL = plain(formulas.linear_upnl)
_INVERSE_UPNL = plain(formulas.inverse_upnl)
_LINEAR_FUNDING = plain(formulas.funding_payment)
_INVERSE_FUNDING = plain(formulas.inverse_funding_payment)


def notional(instrument: Instrument, size: float, price: float) -> float:
    """Position notional in the margin currency."""
    if instrument.is_inverse:
        return _INVERSE_NOTIONAL(size, instrument.contract_size, price)
    return _LINEAR_NOTIONAL(size, instrument.contract_size, price)


def upnl(instrument: Instrument, size: float, entry_price: float, price: float) -> float:
    """Unrealized PnL of ``size`` contracts entered at ``entry_price``, valued at ``price``."""
    if instrument.is_inverse:
        return _INVERSE_UPNL(size, instrument.contract_size, entry_price, price)
    return _LINEAR_UPNL(size, instrument.contract_size, entry_price, price)


def funding_payment(instrument: Instrument, size: float, price: float, rate: float) -> float:
    """Funding received (negative when paid) by ``size`` contracts at ``price``."""
    if instrument.is_inverse:
        return _INVERSE_FUNDING(size, instrument.contract_size, price, rate)
    return _LINEAR_FUNDING(size, instrument.contract_size, price, rate)
