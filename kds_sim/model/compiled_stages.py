"""The batch's day outside the rules, compiled over [row, person]: the bookkeeping of
events and the daily counts, each one pass over the batch.

Each is a plain loop that numba compiles on first use (machine code cached on disk, as the
rules kernel is). They do integer work only, so they give the numbers the numpy stages gave,
bit for bit, on any CPU. (Relapsed peers stay a scipy CSR mat-vec, network.relapsed_peers: a
numba CSR walk measured 2-3x slower here.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kds_sim.model.rules import ABSENT, ABSTINENT, IN_TREATMENT, INCARCERATED, LAPSED, RELAPSED

COUNTS = ("abstinent", "lapsed", "relapsed", "ever_relapsed", "new_lapses", "new_relapses")
TALLIES = (
    *COUNTS,
    "reentries",
    "exposures",
    "members",
    "attendance",
    "present",
    "exits",
    "remissions",
    "in_treatment",
    "incarcerated",
    "life_events",
)
"""The daily counts `tally_day` makes, in its output's column order (the last three: model
0.3's states and events, shown in the daily table only when a 0.3 mechanism is on)."""
MODEL_0_3 = ("in_treatment", "incarcerated", "life_events")

_LOCK = threading.Lock()
_COMPILED: dict[str, Any] = {}


def compiled(function: Callable[..., None]) -> Callable[..., None]:
    """`function` compiled by numba on its first call (so importing the model stays fast)."""

    def call(*args: Any) -> None:
        jitted = _COMPILED.get(function.__name__)
        if jitted is None:
            with _LOCK:
                import numba

                jitted = numba.njit(cache=True, nogil=True, error_model="numpy")(function)
                _COMPILED[function.__name__] = jitted
        jitted(*args)

    call.__doc__, call.__name__ = function.__doc__, function.__name__
    return call


@compiled
def keep_books(
    day,
    lapse,
    relapse,
    remission,
    using_tie_lost,
    first_lapse_day,
    first_relapse_day,
    lapses,
    relapses,
    remissions,
    lost,
):
    """First lapse and relapse days, counts of lapses, relapses and remissions, lost ties."""
    rows, n = lapse.shape
    for r in range(rows):
        for i in range(n):
            if lapse[r, i]:
                lapses[r, i] += 1
                if first_lapse_day[r, i] < 0:
                    first_lapse_day[r, i] = day
            if relapse[r, i]:
                relapses[r, i] += 1
                if first_relapse_day[r, i] < 0:
                    first_relapse_day[r, i] = day
            if remission[r, i]:
                remissions[r, i] += 1
            if using_tie_lost[r, i]:
                lost[r, i] += 1


@compiled
def tally_day(
    day,
    status,
    first_relapse_day,
    member,
    exit_day,
    lapse,
    relapse,
    reentry,
    exposed,
    remission,
    attended,
    life_event,
    out,
):
    """The day's counts of every row, out[r, j] for TALLIES[j] (one pass over the batch)."""
    rows, n = status.shape
    for r in range(rows):
        abstinent = lapsed = relapsed = ever = lapses = relapses = 0
        reentries = exposures = members = attendance = present = exits = remissions = 0
        treated = jailed = events = 0
        for i in range(n):
            s = status[r, i]
            abstinent += s == ABSTINENT
            lapsed += s == LAPSED
            relapsed += s == RELAPSED
            present += s != ABSENT
            ever += first_relapse_day[r, i] >= 0
            exits += exit_day[r, i] == day
            lapses += lapse[r, i]
            relapses += relapse[r, i]
            reentries += reentry[r, i]
            exposures += exposed[r, i]
            members += member[r, i]
            attendance += attended[r, i]
            remissions += remission[r, i]
            treated += s == IN_TREATMENT
            jailed += s == INCARCERATED
            events += life_event[r, i]
        out[r, 0], out[r, 1], out[r, 2], out[r, 3] = abstinent, lapsed, relapsed, ever
        out[r, 4], out[r, 5], out[r, 6], out[r, 7] = lapses, relapses, reentries, exposures
        out[r, 8], out[r, 9], out[r, 10] = members, attendance, present
        out[r, 11], out[r, 12] = exits, remissions
        out[r, 13], out[r, 14], out[r, 15] = treated, jailed, events
