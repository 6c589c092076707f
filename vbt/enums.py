"""Shared integer codes used by kernels, records and wrappers (plain ints so Numba can inline them).

Signals and sides share a sign convention: +1 is long/buy, -1 is short/sell, 0 is hold/flat.
"""

# Trading signal (int8), as produced by signals and consumed by the scan.
BUY = 1
HOLD = 0
SELL = -1
SIGNAL_NAMES = {BUY: "BUY", HOLD: "HOLD", SELL: "SELL"}

# Model class index -> signal, for classification models (the older system's label order).
CLASS_BUY = 0
CLASS_HOLD = 1
CLASS_SELL = 2

# Position side (int8).
LONG = 1
FLAT = 0
SHORT = -1
SIDE_NAMES = {LONG: "LONG", FLAT: "FLAT", SHORT: "SHORT"}

# Why the decision rules returned what they returned (int8), in filter order.
REASON_SIGNAL = 0  # the raw signal passed every filter (or was HOLD to begin with)
REASON_RAW_HOLD = 1  # the model said HOLD (or the bar was invalid / output not finite)
REASON_LOW_CONFIDENCE = 2  # filter 1: classification confidence < confidence_threshold
REASON_SEPARATION = 3  # filter 2: too soon after the last executed trade
REASON_POSITION = 4  # filter 3: position awareness (LONG+BUY, SHORT+SELL, FLAT+SELL)
REASON_NAMES = {
    REASON_SIGNAL: "signal",
    REASON_RAW_HOLD: "raw_hold",
    REASON_LOW_CONFIDENCE: "low_confidence",
    REASON_SEPARATION: "min_signal_separation",
    REASON_POSITION: "position_awareness",
}

# Why a trade was closed (int8): the model's signal, the end of the data, or a risk exit.
EXIT_SIGNAL = 0
EXIT_END_OF_DATA = 1
EXIT_STOP_LOSS = 2
EXIT_TAKE_PROFIT = 3
EXIT_TRAILING_STOP = 4
EXIT_TIME_STOP = 5
EXIT_NONE = -1  # no exit (a risk check that did not fire)
EXIT_REASON_NAMES = {
    EXIT_SIGNAL: "signal",
    EXIT_END_OF_DATA: "end_of_data",
    EXIT_STOP_LOSS: "stop_loss",
    EXIT_TAKE_PROFIT: "take_profit",
    EXIT_TRAILING_STOP: "trailing_stop",
    EXIT_TIME_STOP: "time_stop",
}
N_EXIT_REASONS = len(EXIT_REASON_NAMES)

# Model output types (metadata_v3.json "output_type"); only the first two trade.
OUTPUT_CLASSIFICATION = "classification"
OUTPUT_REGRESSION = "regression"
SIGNAL_OUTPUT_TYPES = (OUTPUT_CLASSIFICATION, OUTPUT_REGRESSION)
