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

# the formulas' originals by contract kind, (linear, inverse): indexed by ``is_inverse``
_NOTIONAL = (plain(formulas.linear_notional), plain(formulas.inverse_notional))
_UPNL = (plain(formulas.linear_upnl), plain(formulas.inverse_upnl))
_FUNDING = (plain(formulas.funding_payment), plain(formulas.inverse_funding_payment))


def notional(instrument: Instrument, size: float, price: float) -> float:
    """Position notional in the margin currency."""
    return _NOTIONAL[instrument.is_inverse](size, instrument.contract_size, price)


def upnl(instrument: Instrument, size: float, entry_price: float, price: float) -> float:
    """Unrealized PnL of ``size`` contracts entered at ``entry_price``, valued at ``price``."""
    return _UPNL[instrument.is_inverse](size, instrument.contract_size, entry_price, price)


def funding_payment(instrument: Instrument, size: float, price: float, rate: float) -> float:
    """Funding received (negative when paid) by ``size`` contracts at ``price``."""
    return _FUNDING[instrument.is_inverse](size, instrument.contract_size, price, rate)
