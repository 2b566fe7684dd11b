"""The compiled stages on tiles and threads give the single-thread tables, bit for bit."""

import pandas as pd
import pytest
from kernel_cases import cases, run, stored

from kds_sim.model import threads


@pytest.fixture
def many_small_tiles(monkeypatch):
    monkeypatch.setattr(threads, "SMALLEST_TILE", 1)
    yield
    threads.set_threads(None)


@pytest.mark.parametrize("count", [2, 3])
def test_tiles_and_threads_reproduce_the_stored_tables(many_small_tiles, count):
    threads.set_threads(count)
    for name in ("no_group", "open_population_interventions", "rows_with_different_parameters"):
        assert name in cases()
        daily, people = stored(name)
        got_daily, got_people = run(name)
        pd.testing.assert_frame_equal(got_daily, daily, check_exact=True)
        pd.testing.assert_frame_equal(got_people, people, check_exact=True)


def test_tiles_cover_every_person_once():
    threads.set_threads(4)
    try:
        for rows, people in ((1, 100_000), (3, 20_000), (200, 300), (2, 10)):
            seen = {}
            for r0, r1, p0, p1 in threads.tiles(rows, people):
                for r in range(r0, r1):
                    seen[r] = seen.get(r, 0) + (p1 - p0)
            assert seen == dict.fromkeys(range(rows), people)
    finally:
        threads.set_threads(None)


def test_the_thread_count_is_checked(monkeypatch):
    with pytest.raises(ValueError, match="at least 1"):
        threads.set_threads(0)
    monkeypatch.setenv("KDS_SIM_THREADS", "many")
    with pytest.raises(ValueError, match="KDS_SIM_THREADS"):
        threads.threads()
    monkeypatch.setenv("KDS_SIM_THREADS", "3")
    assert threads.threads() == 3
