"""Counter-based random numbers: every draw of a run has an address.

A replicate's daily draws come from Philox4x64-10 (Salmon et al. 2011, the generator behind
numpy's `np.random.Philox`), keyed by the replicate (its seed sequence, so by root seed and
replicate index alone) and counted by (person, day, block, stream). One block gives four
uniforms, so a draw is found, not produced in sequence: the compiled day draws only the blocks a
person's rules read (one block for most person-days), any batch size and any order of people
give the same numbers, and scenarios of a replicate share them (common random numbers).

`philox_block` is plain Python over numpy's own Philox (the reference); inside compiled code
numba uses `_philox_compiled` instead, the same arithmetic in 64-bit integers. A test checks
that both give the same bits for given keys and counters.
"""

from __future__ import annotations

import threading
from enum import IntEnum
from typing import Any

import numpy as np

PERSON, GROUP = 0, 1
"""Last counter word: draws of one person, or draws of the group (person word 0)."""


class Draw(IntEnum):
    """A person's draws of a day: block `value // 4`, word `value % 4` of that block.

    Block 0 is what an abstinent person's rules read (most person-days), block 1 what a
    lapsed or relapsed person's rules read and the exit draw of an open population, block 2
    the group's per-person draws (only while a group meets), block 3 the model-0.3 rules'
    draws (life events; incarceration or a re-formed tie while using; the end of a stay in
    treatment or prison; release to use), drawn only in rows with a 0.3 mechanism on.
    """

    EXPOSURE = 0
    COPING = 1
    LAPSE = 2
    RESOLVE = 3
    RELAPSE = 4
    REENTRY = 5
    EXIT = 6
    MEETING = 8
    TRAINING = 9
    DROPOUT = 10
    LIFE_EVENT = 12
    USE_EVENT = 13
    STAY = 14
    RELEASE = 15


class GroupDraw(IntEnum):
    """The group's own draws of a day (block 0 of the GROUP stream)."""

    MEETING_HELD = 0


_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_LOW32 = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)
_11 = np.uint64(11)
_ONE = np.uint64(1)
_ROUNDS = 10
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53: numpy's uint64 -> [0, 1) double


def key_of(seed: np.random.SeedSequence) -> np.ndarray:
    """The Philox key of a replicate: two 64-bit words hashed from its (daily) seed sequence."""
    return seed.generate_state(2, np.uint64)


def philox_block(
    k0: np.uint64, k1: np.uint64, c0: int, c1: int, c2: int, c3: int
) -> tuple[float, float, float, float]:
    """Four uniforms on [0, 1) at counter (c0, c1, c2, c3) under key (k0, k1).

    Plain Python: numpy's Philox (which adds one to the counter before each block)."""
    whole = (int(c0) | int(c1) << 64 | int(c2) << 128 | int(c3) << 192) - 1  # as a 256-bit number
    words = [(whole >> (64 * j)) & (2**64 - 1) for j in range(4)]  # -1 wraps to all ones
    counter = np.array(words, dtype=np.uint64)
    raw = np.random.Philox(counter=counter, key=np.array([k0, k1], dtype=np.uint64)).random_raw(4)
    u = (raw >> np.uint64(11)).astype(np.float64) * _TO_UNIT
    return float(u[0]), float(u[1]), float(u[2]), float(u[3])


def _mulhilo(a, b):
    """High and low 64-bit words of a * b (64 x 64 -> 128 bits, from 32-bit halves)."""
    a_lo, a_hi = a & _LOW32, a >> _32
    b_lo, b_hi = b & _LOW32, b >> _32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> _32) + (p1 & _LOW32) + (p2 & _LOW32)
    hi = p3 + (p1 >> _32) + (p2 >> _32) + (mid >> _32)
    return hi, a * b


def _philox_compiled(k0, k1, c0, c1, c2, c3):
    """`philox_block` in 64-bit integer arithmetic (what numba compiles)."""
    x0, x1, x2, x3 = np.uint64(c0), np.uint64(c1), np.uint64(c2), np.uint64(c3)
    key0, key1 = np.uint64(k0), np.uint64(k1)
    for r in range(_ROUNDS):
        if r > 0:
            key0 = key0 + _W0
            key1 = key1 + _W1
        hi0, lo0 = _mulhilo(_M0, x0)
        hi1, lo1 = _mulhilo(_M1, x2)
        x0, x1, x2, x3 = hi1 ^ x1 ^ key0, lo1, hi0 ^ x3 ^ key1, lo0
    return (
        np.float64(x0 >> _11) * _TO_UNIT,
        np.float64(x1 >> _11) * _TO_UNIT,
        np.float64(x2 >> _11) * _TO_UNIT,
        np.float64(x3 >> _11) * _TO_UNIT,
    )


def _person_draws(keys, day, which, out):
    """out[r, j, i] = draw `which[j]` of person i of row r on `day` (one block per person)."""
    rows, count, n = out.shape
    block = which[0] // 4
    for r in range(rows):
        for i in range(n):
            u = philox_block(keys[r, 0], keys[r, 1], i, day, block, PERSON)
            for j in range(count):
                out[r, j, i] = u[which[j] % 4]


def _group_draws(keys, day, out):
    """out[r] = the group's MEETING_HELD draw of row r on `day`."""
    for r in range(out.shape[0]):
        u = philox_block(keys[r, 0], keys[r, 1], 0, day, 0, GROUP)
        out[r] = u[0]  # GroupDraw.MEETING_HELD


def _mulhi_intrinsic() -> Any:
    """The high word of a 64 x 64-bit product as one 128-bit multiply (numba intrinsic):
    the same bits as `_mulhilo`'s four 32-bit products, several times fewer instructions."""
    from llvmlite import ir  # type: ignore[import-untyped]
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def mulhi(typingctx, a, b):
        def codegen(context, builder, signature, args):
            wide = ir.IntType(128)
            product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
            return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))

        return types.uint64(types.uint64, types.uint64), codegen

    return mulhi


_COMPILED: dict[str, object] = {}
_LOCK = threading.Lock()


def register_compiled() -> None:
    """Teach numba to compile `philox_block` as `_philox_compiled` (once; numba imported here)."""
    with _LOCK:
        if "registered" in _COMPILED:
            return
        from numba.extending import overload

        mulhi = _mulhi_intrinsic()

        @overload(_mulhilo)
        def _mul(a, b):  # one 64 x 64 -> 128-bit multiply instruction
            return lambda a, b: (mulhi(a, b), a * b)

        @overload(philox_block)
        def _philox(k0, k1, c0, c1, c2, c3):
            return _philox_compiled

        _COMPILED["registered"] = True


def _compiled(name: str) -> Any:
    if name not in _COMPILED:
        register_compiled()
        import numba

        jit = numba.njit(cache=True, nogil=True)
        functions: dict[str, Any] = {
            "person": _person_draws,
            "group": _group_draws,
            "block": _philox_compiled,
        }
        _COMPILED[name] = jit(functions[name])
    return _COMPILED[name]


def person_uniforms(keys: np.ndarray, n: int, day: int, which: tuple[Draw, ...]) -> np.ndarray:
    """[row, len(which), n] uniforms of one day's draws `which` (all in one block)."""
    blocks = {int(w) // 4 for w in which}
    if len(blocks) != 1:
        raise ValueError(f"draws {which} span blocks {sorted(blocks)}; ask one block at a time")
    out = np.empty((len(keys), len(which), n))
    _compiled("person")(keys, day, np.array([int(w) for w in which], dtype=np.int64), out)
    return out


def group_uniforms(keys: np.ndarray, day: int) -> np.ndarray:
    """[row] the group's MEETING_HELD draw of one day."""
    out = np.empty(len(keys))
    _compiled("group")(keys, day, out)
    return out


def block(k0: int, k1: int, c0: int, c1: int, c2: int, c3: int) -> tuple[float, ...]:
    """`philox_block` compiled (for tests: must equal the numpy reference bit for bit)."""
    return tuple(_compiled("block")(np.uint64(k0), np.uint64(k1), c0, c1, c2, c3))
