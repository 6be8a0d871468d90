"""Array layouts of the compiled signal kernel: column and code numbers.

:mod:`levtrade.backtest.kernel_core` keeps its state in float arrays and writes its results
to float tables; these constants name their columns (``X_*`` per-position state, ``A_*`` account
scalars, ``P_*`` run parameters, ``Y_*`` per-symbol parameters, ``D_*`` an order being
executed, ``L_*``/``T_*``/``O_*`` the ledger, trades and orders tables, ``G_*`` the state log,
``S_*`` the series) and
the codes stored in them (books, entry kinds, order types, origins, statuses, reasons), so
:mod:`levtrade.backtest.kernel` can translate them back to names.
"""

from __future__ import annotations

import math

NEVER = math.inf
MS_PER_MINUTE = 60_000.0
PARTIAL_COOLDOWN_MS = 30_000.0
NUDGES = (1e-12, 1e-10, 1e-8, 1e-6)

# -- ledger books, and kinds by their index in EntryKind; isolated book of symbol j: B_ISOLATED + j
B_EXTERNAL = 0
B_CROSS = 1
B_MARKET = 2
B_FEES = 3
B_LIQUIDATION_FEES = 4
B_INSURANCE_FUND = 5
B_LIQUIDATOR_VAULT = 6
B_ISOLATED = 7

K_DEPOSIT = 0
K_TRANSFER = 2
K_REALIZED_PNL = 3
K_FEE = 4
K_FUNDING = 5
K_LIQUIDATION = 6
K_INSURANCE_FUND = 7
K_LIQUIDATION_FEE = 8

# -- venue outcome models --------------------------------------------------------------------
M_BANKRUPTCY_CLOSE = 0
M_MARKET_CLOSE = 1
M_PENALTY_CLOSE = 2

# -- signal bits ------------------------------------------------------------------------------
SIG_ENTER_LONG = 1
SIG_EXIT_LONG = 2
SIG_ENTER_SHORT = 4
SIG_EXIT_SHORT = 8
SIG_ROI_HOLD_LONG = 16
"""``enter_long`` as the strategy set it (before the same-candle rule): with
``ignore_roi_if_entry_signal`` it holds a long's ROI exit on the next bar."""
SIG_ROI_HOLD_SHORT = 32
"""``enter_short`` as set: holds a short's ROI exit on the next bar."""

# -- order types, origins (= trade exit reasons), tags, statuses, reasons ---------------------
TYPE_MARKET = 0
TYPE_STOP = 2
TYPE_TAKE_PROFIT = 3
TYPE_TRAILING_STOP = 4

ORIGIN_SIGNAL = 0
ORIGIN_STOP_LOSS = 1
ORIGIN_ROI = 3
ORIGIN_TRAILING_STOP = 4
ORIGIN_LIQUIDATION = 5
ORIGIN_END_OF_DATA = 6

TAG_NONE = 0
TAG_ENTER_LONG = 1
TAG_ENTER_SHORT = 2
TAG_EXIT_LONG = 3
TAG_EXIT_SHORT = 4

STATUS_FILLED = 1
STATUS_CANCELLED = 2
STATUS_REJECTED = 3

REASON_NONE = 0
"""Also what a fill that went through returns."""
REASON_INSUFFICIENT_MARGIN = 1
REASON_LEVERAGE = 2
REASON_MIN_NOTIONAL = 4
REASON_SIZE = 5
REASON_MAX_OPEN_TRADES = 6
REASON_BANKRUPT = 7
REASON_NO_POSITION = 8
REASON_POSITION_CLOSED = 11
REASON_LIQUIDATION = 12
REASON_END_OF_DATA = 13

# -- parameter vector ---------------------------------------------------------------------------
P_WALLET = 0
P_ISOLATED = 1
P_LEVERAGE = 2
P_SLIPPAGE = 3
P_VOLUME_SLIPPAGE = 4
P_LIQ_SLIPPAGE = 5
P_STAKE = 6
"""NaN: ``unlimited``."""
P_TRADABLE_RATIO = 7
P_MAX_OPEN = 8
"""NaN: no limit."""
P_BUFFER = 9
P_OUTCOME = 10
P_PENALTY = 11
P_PARTIAL_NOTIONAL = 12
"""NaN: no partial liquidation."""
P_PARTIAL_FRACTION = 13
P_BACKSTOP = 14
"""NaN: no backstop."""
P_MM_AT_ENTRY = 15
P_INTEGER_LEVERAGE = 16
P_CAN_SHORT = 17
P_STOPLOSS = 18
"""NaN: none."""
P_TRAILING = 19
P_TRAIL_POSITIVE = 20
P_TRAIL_OFFSET = 21
P_TRAIL_ONLY_OFFSET = 22
P_HEDGE = 23
"""1: hedge mode (two state rows per symbol)."""
P_IGNORE_ROI = 24
"""1: ``ignore_roi_if_entry_signal`` (no ROI exit on a bar after an entry signal)."""
N_PARAMS = 25

# -- per-symbol parameters ----------------------------------------------------------------------
Y_CONTRACT_SIZE = 0
Y_LOT = 1
Y_MIN_NOTIONAL = 2
Y_MAKER = 3
Y_TAKER = 4
Y_CLEARANCE = 5
Y_LAST_ACTIVE = 6
N_SYMBOL_PARAMS = 7

# -- per-position state (a row per symbol; in hedge mode per leg) --------------------------
X_SIZE = 0
X_ENTRY = 1
X_LEVERAGE = 2
"""The position's leverage."""
X_MARGIN = 3
X_SEQ = 4
"""Order the account opened the position in (its position dict order)."""
X_SETTING = 5
"""The account's leverage setting of the row's symbol (hedge: of its leg); new positions
take it."""
X_MARK = 6
X_WATCH = 7
"""Liquidation price the path tests (NaN: none)."""
X_WATCH_DIR = 8
X_LP = 9
"""Liquidation price recorded in the series."""
X_T_TIME = 10
X_T_SIZE = 11
X_T_ENTRY_VALUE = 12
X_T_CLOSED = 13
X_T_EXIT_VALUE = 14
X_T_REALIZED = 15
X_T_FEES = 16
X_T_FUNDING = 17
X_T_LEVERAGE = 18
X_R_OPEN = 19
"""The signal rules hold this trade (``SignalDriver.open``)."""
X_R_ENTRY = 20
X_R_LEVERAGE = 21
X_R_TIME = 22
X_R_INITIAL_STOP = 23
X_STOP_ID = 24
"""Resting stop-loss order (0: none)."""
X_STOP_PRICE = 25
X_STOP_ORIGIN = 26
X_STOP_CREATED = 27
X_TP_ID = 28
"""Resting ROI take-profit (0: none)."""
X_TP_PRICE = 29
X_TP_CREATED = 30
X_EXIT_ID = 31
"""Pending signal exit (0: none)."""
X_EXIT_SIZE = 32
X_EXIT_CREATED = 33
X_ENTRY_ID = 34
"""Pending signal entry (0: none)."""
X_ENTRY_SIDE = 35
X_ENTRY_LEVERAGE = 36
X_ENTRY_STAKE = 37
X_ENTRY_CREATED = 38
X_STOP_TYPE = 39
X_EXIT_SIDE = 40
X_SYMBOL = 41
"""The symbol (market column) of the row: the row itself in one-way mode, row // 2 in hedge."""
X_LEG = 42
"""0: one-way (``BOTH``); hedge mode: 1 the ``LONG`` leg (row 2j), −1 the ``SHORT`` leg
(row 2j + 1), whose partner row is ``row ^ 1``."""
X_SUM_UPNL = 43
"""Scratch column: the exact partials (Shewchuk's, as ``math.fsum`` keeps them) of a sum of
the cross positions' uPnL, one per row (a sum of k values has at most k partials), so that
the pool's sums allocate nothing."""
X_SUM_IM = 44
"""Scratch column: the partials of the cross positions' initial margin."""
X_SUM_MM = 45
"""Scratch column: the partials of the cross positions' maintenance margin."""
N_STATE = 46

# -- an order being executed (``od``) ------------------------------------------------------------
D_ID = 0
D_TYPE = 1
D_SIDE = 2
"""+1 buy, −1 sell."""
D_CLOSE = 3
"""1: close the whole position (exits, stops, take-profits)."""
D_SIZE = 4
"""Contracts; NaN: sized by stake at the fill."""
D_PRICE = 5
D_LEVERAGE = 6
D_STAKE = 7
D_ORIGIN = 8
D_TAG = 9
D_CREATED = 10
N_ORDER = 11

# -- account scalars ------------------------------------------------------------------------------
A_WALLET = 0
A_FUND = 1
A_LAST_PARTIAL = 2
A_NEXT_ID = 3
A_SEQ = 4
A_STALE = 5
A_CROSS_MULTI = 6
A_TIME = 7
A_POSITIONS = 8
A_DIRTY = 9
"""1: the bar changed what the series read (positions, wallet, liquidation prices, marks);
its end logs the state (``G_*``)."""
N_ACCOUNT = 10

# -- the order being executed (``od``: its first N_ORDER values) and its fill's undo room --------
W_SAVED_ACCOUNT = N_ORDER
"""The account scalars as they were before the fill (N_ACCOUNT values)."""
W_SAVED_STATE = W_SAVED_ACCOUNT + N_ACCOUNT
"""The filled row's state as it was (N_STATE values)."""
N_WORK = W_SAVED_STATE + N_STATE

# -- output tables ---------------------------------------------------------------------------------
L_TIME = 0
L_KIND = 1
L_SOURCE = 2
L_DESTINATION = 3
L_AMOUNT = 4
L_SYMBOL = 5
N_LEDGER = 6

T_SYMBOL = 0
T_SIDE = 1
T_ENTRY_TIME = 2
T_EXIT_TIME = 3
T_ENTRY_PRICE = 4
T_EXIT_PRICE = 5
T_SIZE = 6
T_LEVERAGE = 7
T_PNL = 8
T_FEES = 9
T_FUNDING = 10
T_REASON = 11
N_TRADES = 12

O_ID = 0
O_SYMBOL = 1
O_SIDE = 2
O_TYPE = 3
O_SIZE = 4
O_PRICE = 5
O_REDUCE_ONLY = 6
O_ORIGIN = 7
O_TAG = 8
O_CREATED = 9
O_STATUS = 10
O_REASON = 11
O_FILL_TIME = 12
O_FILL_PRICE = 13
O_FILLED_SIZE = 14
O_FEE = 15
N_ORDERS = 16

# -- the state log: what the series read, at the end of each bar that changed it; a row of
# one position (G_ROW its state row: X_SIZE, X_ENTRY, X_MARGIN, X_LP, X_SEQ, X_MARK) or of
# the account (G_ROW = -1: G_WALLET, G_MULTI)
G_BAR = 0
G_ROW = 1
G_SIZE = 2
G_ENTRY = 3
G_MARGIN = 4
G_LP = 5
G_SEQ = 6
G_MARK = 7
N_LOG = 8
G_WALLET = G_SIZE
G_MULTI = G_ENTRY

S_EQUITY = 0
S_CROSS_EQUITY = 1
S_MAINTENANCE = 2
S_MARGIN_RATIO = 3
S_WALLET = 4
N_SERIES = 5

C_LEDGER = 0
C_TRADES = 1
C_ORDERS = 2
C_LOG = 3
N_COUNTERS = 4
