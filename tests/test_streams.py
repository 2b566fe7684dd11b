"""The counter-based generator (kds_sim.model.streams): the compiled Philox4x64-10 gives numpy's
Philox bits for any key and counter, and a draw depends on its address alone."""

from __future__ import annotations

import numpy as np
import pytest

from kds_sim.model import streams

KEYS = [(0, 0), (1, 2), (2**64 - 1, 2**63 + 5), (0x9E3779B97F4A7C15, 12345)]
COUNTERS = [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 0, 1), (149, 365, 2, 1)]
COUNTERS += [(2**40 + 7, 3650, 1, 0), (999_999, 1, 0, 0)]


@pytest.mark.parametrize("key", KEYS)
def test_compiled_philox_equals_numpy_philox_bit_for_bit(key):
    for counter in COUNTERS:
        compiled = streams.block(*key, *counter)
        reference = streams.philox_block(np.uint64(key[0]), np.uint64(key[1]), *counter)
        assert compiled == reference, (key, counter)
        # and the reference is numpy's generator as documented: counter + 1, then the block
        raw = np.random.Philox(
            counter=np.array(counter, dtype=np.uint64) - np.array([1, 0, 0, 0], dtype=np.uint64)
            if counter[0] > 0
            else None,
            key=np.array(key, dtype=np.uint64),
        )
        if counter[0] > 0:
            bits = raw.random_raw(4)
            assert reference == tuple(float(b >> np.uint64(11)) * 2.0**-53 for b in bits)


def test_many_random_keys_and_counters():
    rng = np.random.default_rng(3)
    for _ in range(200):
        key = rng.integers(0, 2**63, 2, dtype=np.uint64)
        counter = (int(rng.integers(0, 2**31)), int(rng.integers(0, 5000)), 1, 0)
        assert streams.block(*key, *counter) == streams.philox_block(*key, *counter)


def test_uniforms_are_uniform():
    """Moments and a chi-square over 10 bins: 200k draws, tolerances at about 5 sd."""
    keys = np.array([[7, 9]], dtype=np.uint64)
    u = streams.person_uniforms(keys, 50_000, 3, tuple(streams.Draw)[:4]).ravel()
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / u.size)
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    expected = u.size / 10
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 40  # 9 degrees of freedom: P(chi2 > 40) < 1e-5
    assert u.min() >= 0.0 and u.max() < 1.0


def test_a_draw_depends_on_its_address_only():
    keys = np.array([[1, 2], [3, 4], [1, 2]], dtype=np.uint64)
    which = (streams.Draw.MEETING, streams.Draw.DROPOUT)
    whole = streams.person_uniforms(keys, 30, 5, which)
    assert np.array_equal(whole[0], whole[2])
    assert not np.array_equal(whole[0], whole[1])
    alone = streams.person_uniforms(keys[1:2], 30, 5, which)
    np.testing.assert_array_equal(alone[0], whole[1])
    k0, k1 = keys[1]
    block = streams.block(k0, k1, 17, 5, 2, streams.PERSON)
    assert whole[1, 1, 17] == block[streams.Draw.DROPOUT % 4]
    with pytest.raises(ValueError, match="span blocks"):
        streams.person_uniforms(keys, 3, 1, (streams.Draw.EXPOSURE, streams.Draw.MEETING))
