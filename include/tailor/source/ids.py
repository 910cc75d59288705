"""Random identifiers and text columns built without per-row Python.

Device ids, cookies, session and message ids look like the hex tokens real
trackers emit; building them through numpy byte views keeps a 50k-customer
seed to milliseconds instead of seconds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


def hex_tokens(rng: np.random.Generator, n: int, nbytes: int = 8, prefix: str = "") -> pa.Array:
    """``n`` random lower-case hex strings of ``2 * nbytes`` characters."""
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    text = np.ascontiguousarray(_HEX[raw]).view(f"S{2 * nbytes}").ravel()
    tokens = pa.array(text, pa.binary()).cast(pa.string())
    return concat(prefix, tokens) if prefix else tokens


def digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """``n`` random digit strings of exactly ``width`` characters (bytes)."""
    raw = rng.integers(ord("0"), ord("9") + 1, size=(n, width), dtype=np.uint8)
    return raw.view(f"S{width}").ravel()


def pattern_fill(rng: np.random.Generator, n: int, pattern: str) -> np.ndarray:
    """Strings shaped like ``pattern`` (``#`` a digit, ``A`` an upper-case letter)."""
    out = np.empty((n, len(pattern)), dtype=np.uint8)
    for i, ch in enumerate(pattern):
        if ch == "#":
            out[:, i] = rng.integers(ord("0"), ord("9") + 1, size=n)
        elif ch == "A":
            out[:, i] = rng.integers(ord("A"), ord("Z") + 1, size=n)
        else:
            out[:, i] = ord(ch)
    return out.view(f"S{len(pattern)}").ravel()


def concat(*parts: object) -> pa.Array:
    """Element-wise string concatenation of arrays and scalars (nulls propagate)."""
    arrays = [p if isinstance(p, pa.Array | pa.ChunkedArray) else pa.scalar(str(p)) for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def as_text(values: np.ndarray) -> pa.Array:
    """Integer or byte-string numpy values as a pyarrow string array."""
    if values.dtype.kind == "S":
        return pa.array(values, pa.binary()).cast(pa.string())
    return pa.array(values).cast(pa.string())


def pick(vocab: tuple | list | pa.Array, index: np.ndarray) -> pa.Array:
    """``vocab[index]`` for every row, as a pyarrow array."""
    arr = vocab if isinstance(vocab, pa.Array) else pa.array(list(vocab))
    return arr.take(pa.array(index, pa.int64()))
