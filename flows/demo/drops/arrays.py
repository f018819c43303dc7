"""The generator's building blocks: the numpy array types, the seeded random streams
(one per part of the model and per drop day), sampling helpers and Arrow columns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

I8 = npt.NDArray[np.int8]


I32 = npt.NDArray[np.int32]


I64 = npt.NDArray[np.int64]


F64 = npt.NDArray[np.float64]


Bools = npt.NDArray[np.bool_]


Rng = np.random.Generator


FileFormat = Literal["csv", "parquet"]

# Streams of the seeded generator: one per part of the model, one per drop day.
STREAM_UNIVERSE: Final = 1


STREAM_CLIENTS: Final = 2


STREAM_POSITIONS: Final = 3


STREAM_HISTORY: Final = 4


STREAM_DAY: Final = 5


STREAM_LABELS: Final = 6


STREAM_INTRADAY: Final = 7


def rng_for(seed: int, *stream: int) -> Rng:
    return np.random.default_rng([seed, *stream])


def dictionary(indices: npt.NDArray[np.integer], values: Sequence[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values))


def nullable_dictionary(
    indices: npt.NDArray[np.integer], missing: Bools, values: Sequence[str]
) -> pa.DictionaryArray:
    array = pa.array(indices.astype(np.int32), mask=missing)
    return pa.DictionaryArray.from_arrays(array, pa.array(values))


def timestamps(day: date, seconds: I64) -> pa.Array:
    return pa.array(np.datetime64(day, "s") + seconds.astype("timedelta64[s]"))


def sorted_unique(values: I64) -> I64:
    """Sorted distinct values (numpy's hash-based ``unique`` is slower on 10M keys)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=np.bool_)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


def zipf_weights(count: int, exponent: float, offset: float) -> F64:
    weights = 1.0 / (np.arange(count, dtype=np.float64) + offset) ** exponent
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def choice(rng: Rng, count: int, shares: Sequence[float], size: int) -> I64:
    probabilities = np.asarray(shares, dtype=np.float64)
    return np.asarray(rng.choice(count, size=size, p=probabilities / probabilities.sum()))


def distinct(values: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Values in first-seen order without repeats, and each value's position."""
    seen: dict[str, int] = {}
    for value in values:
        seen.setdefault(value, len(seen))
    return list(seen), seen


def epoch_seconds(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86400
