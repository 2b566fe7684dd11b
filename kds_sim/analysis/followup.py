"""Long-run follow-up measures: what a multi-year cohort study would report about the model.

The 0.2 targets see only the first year; the long-run evidence (docs/validation.md, "Long-run
targets (model 0.3)") is about years 2-8: the yearly hazard of a first relapse (Hunt 1971 and
its successors), next-year relapse by duration of abstinence (Dennis, Foss & Scott 2007),
quarterly movement between using, treatment, incarceration and recovery (Scott, Dennis & Foss
2005), the 90-day share of the first year's relapses (Hunt, Barnett & Branch 1971), and
meetings attended by members who relapse and who do not.

A `FollowUp` watches a batch of replicates day by day (it reads only `status`, `days_abstinent`,
`member` and `meetings_attended`, [replicate, person] arrays) and keeps per-person
accumulators and quarter-end and year-end snapshots, in numpy. `per_replicate` turns them into
one value per replicate and measure; `summarise` into the mean over replicates with a Monte
Carlo CI (Student t): the precision of the simulated mean, not an uncertainty interval.

Time is counted from day 0 of the run, so the scenario must be a discharge cohort (everyone
enters on day 0): then day d is d days after discharge. People who leave the population (death,
moving away) during a period without the event are dropped from that period's denominator, as
a follow-up study drops those it loses (complete cases).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kds_sim.analysis import statistics
from kds_sim.errors import InputError
from kds_sim.model.ensemble import Ensemble
from kds_sim.model.rules import (
    ABSENT,
    ABSTINENT,
    IN_TREATMENT,
    INCARCERATED,
    LAPSED,
    RELAPSED,
)
from kds_sim.model.scenario import Scenario

YEAR_DAYS = 365
QUARTER_DAYS = 91.25
"""A quarter is a quarter of a 365-day year; its last day is the nearest whole day."""

SCOTT_STATES = ("recovery", "using", "treatment", "incarcerated")
"""Scott, Dennis & Foss 2005's states, in increasing precedence: a quarter in which a person
was on any day incarcerated is an incarcerated quarter, else any day in treatment a treatment
quarter, else any day using a using quarter, else recovery (the interval reading)."""

DENNIS_BANDS = ((0, 365, "<1y"), (365, 3 * 365, "1-3y"), (3 * 365, 5 * 365, "3-5y"))
DENNIS_LAST = (5 * 365, "5y+")
"""Duration of abstinence at the start of a year, in days: [low, high) and the open last band."""

HAZARD_YEARS = 5
"""Years of the first-relapse hazard (a) and of the cumulative relapse it gives."""


@dataclass(frozen=True)
class Reading:
    """How the model's status codes are read as follow-up states. Model 0.3's IN_TREATMENT
    and INCARCERATED are Scott's treatment and incarceration (they occur only when their
    mechanisms are on). Codes not named in `scott` (ABSENT) are out of the population and
    excluded."""

    scott: Mapping[int, str] = field(
        default_factory=lambda: {
            ABSTINENT: "recovery",
            LAPSED: "using",
            RELAPSED: "using",
            IN_TREATMENT: "treatment",
            INCARCERATED: "incarcerated",
        }
    )
    relapse: tuple[int, ...] = (RELAPSED,)
    """Relapse: a day in any of these states (the 0.2 model: RELAPSED, regular use)."""
    use: tuple[int, ...] = (LAPSED, RELAPSED)
    """Any use: a day in any of these states (a lapse counts)."""
    abstinent: tuple[int, ...] = (ABSTINENT,)
    """Abstinent in the community: the population Dennis's next-year measure starts from."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.scott.values()) - set(SCOTT_STATES))
        if unknown:
            raise InputError(
                f"follow-up reading: state(s) {unknown} are not Scott states; allowed: "
                f"{list(SCOTT_STATES)}"
            )

    def lookup(self, size: int = 256) -> np.ndarray:
        """status code -> precedence rank in SCOTT_STATES (-1: excluded), as an array."""
        table = np.full(size, -1, dtype=np.int8)
        for code, name in self.scott.items():
            table[code] = SCOTT_STATES.index(name)
        return table


def quarter_end(q: int) -> int:
    """Last day of quarter q (1-based) after day 0: 91, 183, 274, 365, 456, ..."""
    return int(np.floor(q * QUARTER_DAYS + 0.5))


class FollowUp:
    """Accumulators and snapshots of a [replicate, person] batch, fed one day at a time.

    Call `observe(day, cols)` with day 0's state (at discharge) and then after every day's
    step; `cols` holds "status", "days_abstinent", "member" and "meetings_attended".
    """

    def __init__(self, years: int, reading: Reading | None = None):
        if years < 1:
            raise InputError(f"follow-up years = {years}: allowed: 1 or more")
        self.years = years
        self.reading = reading or Reading()
        self._rank = self.reading.lookup()
        self._relapse = np.isin(np.arange(256), self.reading.relapse)
        self._use = np.isin(np.arange(256), self.reading.use)
        """status code -> in the relapse (use) states: a table lookup, not np.isin each day."""
        self.day = -1
        self.first_relapse: np.ndarray | None = None
        self.first_use: np.ndarray | None = None
        # year snapshots (index k: the start of year k+1, day 365k) and the years' flags
        self.year_start: list[dict[str, np.ndarray]] = []
        self.year_flags: list[dict[str, np.ndarray]] = []
        # quarter states (index q-1: quarter q): point (at its last day) and interval readings
        self.quarter_point: list[np.ndarray] = []
        self.quarter_interval: list[np.ndarray] = []
        self._year: dict[str, np.ndarray] = {}
        self._quarter_rank: np.ndarray | None = None

    def observe(self, day: int, cols: Mapping[str, np.ndarray]) -> None:
        if day != self.day + 1:
            raise ValueError(f"FollowUp.observe: day {day} after day {self.day}")
        self.day = day
        status = cols["status"]
        present = status != ABSENT
        relapsed = self._relapse[status]
        using = self._use[status]
        rank = self._rank[status]
        if day == 0:
            shape = status.shape
            self.first_relapse = np.where(relapsed, 0, -1).astype(np.int32)
            self.first_use = np.where(using, 0, -1).astype(np.int32)
            self._quarter_rank = np.full(shape, -1, dtype=np.int8)
            self._start_year(cols, present)
            return
        assert self.first_relapse is not None and self.first_use is not None
        assert self._quarter_rank is not None
        self.first_relapse[relapsed & (self.first_relapse < 0)] = day
        self.first_use[using & (self.first_use < 0)] = day
        y = self._year
        y["relapsed"] |= relapsed
        y["used"] |= using
        y["member"] |= cols["member"].astype(bool)
        np.maximum(self._quarter_rank, rank, out=self._quarter_rank)
        if day == quarter_end(len(self.quarter_point) + 1):
            self.quarter_point.append(rank.copy())
            # absent at the quarter's end: out of the population, whatever came before
            self.quarter_interval.append(np.where(present, self._quarter_rank, -1))
            self._quarter_rank[:] = -1
        if day % YEAR_DAYS == 0:
            y["present_end"] = present.copy()
            y["meetings"] = cols["meetings_attended"] - y.pop("meetings_start")
            self.year_flags.append(y)
            self._start_year(cols, present)

    def _start_year(self, cols: Mapping[str, np.ndarray], present: np.ndarray) -> None:
        status = cols["status"]
        self.year_start.append(
            {
                "present": present.copy(),
                "abstinent": np.isin(status, self.reading.abstinent) & present,
                "days_abstinent": np.asarray(cols["days_abstinent"]).copy(),
                "ever_relapsed": self.first_relapse >= 0
                if self.first_relapse is not None
                else np.zeros(status.shape, dtype=bool),
            }
        )
        self._year = {
            "relapsed": np.zeros(status.shape, dtype=bool),
            "used": np.zeros(status.shape, dtype=bool),
            "member": cols["member"].astype(bool).copy(),
            "meetings_start": np.asarray(cols["meetings_attended"]).astype(np.int64).copy(),
        }

    @property
    def complete_years(self) -> int:
        return len(self.year_flags)

    # -- per-replicate measures ------------------------------------------------------------
    def per_replicate(self) -> pd.DataFrame:
        """One row per (replicate row, measure, group): the measure's value in that replicate
        (NaN when the replicate has nobody to measure it on)."""
        rows: list[tuple[str, str, np.ndarray]] = []
        rows += self._hazard()
        rows += self._dennis()
        rows += self._scott()
        rows += self._early_share()
        rows += self._meetings()
        frames = [
            pd.DataFrame(
                {"row": np.arange(len(v)), "measure": m, "group": g, "value": v.astype(float)}
            )
            for m, g, v in rows
        ]
        return pd.concat(frames, ignore_index=True)

    def _hazard(self) -> list[tuple[str, str, np.ndarray]]:
        """(a) P(first relapse in year k | none before), life table without the lost; and
        the cumulative relapse 1 - prod(1 - hazard) at 1 and 5 years."""
        assert self.first_relapse is not None
        out = []
        survive = None
        years = min(HAZARD_YEARS, self.complete_years)
        for k in range(years):
            start, flags = self.year_start[k], self.year_flags[k]
            low, high = k * YEAR_DAYS, (k + 1) * YEAR_DAYS
            at_risk = start["present"] & ~start["ever_relapsed"]
            event = at_risk & (self.first_relapse > low) & (self.first_relapse <= high)
            followed = event | (at_risk & flags["present_end"])
            hazard = _ratio(event.sum(axis=1), followed.sum(axis=1))
            out.append(("first_relapse_hazard", f"year {k + 1}", hazard))
            survive = (1.0 - hazard) if survive is None else survive * (1.0 - hazard)
            if k + 1 in (1, HAZARD_YEARS):
                out.append(("cumulative_relapse", f"year {k + 1}", 1.0 - survive))
        return out

    def _dennis(self) -> list[tuple[str, str, np.ndarray]]:
        """(b) Next-year relapse (any day relapsed) and next-year use (any day using) among
        people abstinent at the start of a year, by duration of abstinence then, pooled over
        every start year whose next year was observed (the sums, then one ratio)."""
        out = []
        bands = [*DENNIS_BANDS, (DENNIS_LAST[0], np.iinfo(np.int64).max, DENNIS_LAST[1])]
        for measure, flag in (("next_year_relapse", "relapsed"), ("next_year_use", "used")):
            for low, high, name in bands:
                events = at_risk = 0
                for start, flags in zip(self.year_start, self.year_flags, strict=False):
                    d = start["days_abstinent"]
                    start_pop = start["abstinent"] & (d >= low) & (d < high)
                    event = start_pop & flags[flag]
                    followed = event | (start_pop & flags["present_end"])
                    events = events + event.sum(axis=1)
                    at_risk = at_risk + followed.sum(axis=1)
                out.append((f"{measure}_by_abstinence", name, _ratio(events, at_risk)))
        return out

    def _scott(self) -> list[tuple[str, str, np.ndarray]]:
        """(c) Share of people present at both ends who change state from one quarter to the
        next, quarter by quarter and pooled over years 1-2 (quarters 1-8: 7 transitions) and
        years 3 on; and the share of people present through two years who move twice or more
        (between quarters 1 to 8). Both readings: the state on the quarter's last day (point)
        and the quarter's state by precedence over its days (interval, as Scott's quarterly
        interviews asked about the past 90 days)."""
        out = []
        for reading, states in (("point", self.quarter_point), ("interval", self.quarter_interval)):
            measure = f"quarterly_change_{reading}"
            changes, pairs = [], []
            for q in range(1, len(states)):
                both = (states[q - 1] >= 0) & (states[q] >= 0)
                changed = both & (states[q - 1] != states[q])
                changes.append(changed.sum(axis=1))
                pairs.append(both.sum(axis=1))
                out.append((measure, f"quarter {q} to {q + 1}", _ratio(changes[-1], pairs[-1])))
            for label, first, last in (("years 1-2", 0, 7), ("years 3+", 7, len(changes))):
                if last > first and len(changes) >= last:
                    total = _ratio(sum(changes[first:last]), sum(pairs[first:last]))
                    out.append((measure, label, total))
            if len(states) >= 8:
                stack = np.stack(states[:8])
                through = (stack >= 0).all(axis=0)
                moves = (stack[1:] != stack[:-1]).sum(axis=0)
                out.append(
                    (
                        f"moved_twice_{reading}",
                        "years 1-2",
                        _ratio((through & (moves >= 2)).sum(axis=1), through.sum(axis=1)),
                    )
                )
        return out

    def _early_share(self) -> list[tuple[str, str, np.ndarray]]:
        """(d) Of the first relapses (first uses) on days 1-365, the share on days 1-90."""
        assert self.first_relapse is not None and self.first_use is not None
        if self.day < YEAR_DAYS:
            return []
        out = []
        for measure, first in (
            ("early_relapse_share_90d", self.first_relapse),
            ("early_use_share_90d", self.first_use),
        ):
            year = (first > 0) & (first <= YEAR_DAYS)
            early = (first > 0) & (first <= 90)
            out.append((measure, "year 1", _ratio(early.sum(axis=1), year.sum(axis=1))))
        return out

    def _meetings(self) -> list[tuple[str, str, np.ndarray]]:
        """(e) Meetings attended in a window by people who were members on some day of it: mean
        over those who relapsed in the window, over those who did not, and their ratio; for
        year 1 and for the whole follow-up (years 1 to `complete_years`)."""
        if not self.year_flags:
            return []
        out = []
        last = self.complete_years
        windows = [("year 1", self.year_flags[:1])]
        if last > 1:
            windows.append((f"years 1-{last}", self.year_flags))
        for label, flags in windows:
            member = np.logical_or.reduce([f["member"] for f in flags])
            relapsed = np.logical_or.reduce([f["relapsed"] for f in flags])
            meetings = np.sum([f["meetings"] for f in flags], axis=0)
            yes, no = member & relapsed, member & ~relapsed
            with_relapse = _ratio((meetings * yes).sum(axis=1), yes.sum(axis=1))
            without = _ratio((meetings * no).sum(axis=1), no.sum(axis=1))
            out.append(("meetings_relapsed", label, with_relapse))
            out.append(("meetings_not_relapsed", label, without))
            out.append(("meetings_ratio", label, _ratio(with_relapse, without)))
        return out


def _ratio(numerator: Any, denominator: Any) -> np.ndarray:
    """numerator / denominator per replicate; NaN where the denominator is 0 (or NaN)."""
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    ok = np.isfinite(den) & (den > 0) & np.isfinite(num)
    np.divide(num, den, out=out, where=ok)
    return out


def band_of(days_abstinent: int) -> str:
    """Dennis band of a duration of abstinence in days."""
    for low, high, name in DENNIS_BANDS:
        if low <= days_abstinent < high:
            return name
    return DENNIS_LAST[1]


def follow_up(
    scenario: Scenario,
    replicates: int,
    years: int,
    seed: int | None = None,
    reading: Reading | None = None,
    batch: int = 50,
    progress: bool = True,
) -> pd.DataFrame:
    """Run `replicates` replicates of a discharge-cohort scenario for `years` years and measure
    them: one row per (replicate, measure, group). Replicate i runs from
    SeedSequence(seed, spawn_key=(i,)) (the runner's seeds; default seed: the scenario's), so
    two scenarios with one seed are compared on common random numbers, and the values do not
    depend on `batch` (replicates stepped together)."""
    if replicates < 1:
        raise InputError(f"follow-up replicates = {replicates}: allowed: 1 or more")
    horizon = years * YEAR_DAYS
    run = scenario.run.model_copy(update={"horizon_days": horizon})
    scenario = scenario.model_copy(update={"run": run})
    root = scenario.run.seed if seed is None else seed
    frames = []
    starts = range(0, replicates, max(1, batch))
    bar = tqdm(total=replicates * horizon, disable=not progress, unit="replicate-day")
    for start in starts:
        indices = list(range(start, min(replicates, start + batch)))
        seeds = [np.random.SeedSequence(root, spawn_key=(i,)) for i in indices]
        ensemble = Ensemble([scenario] * len(indices), seeds)
        entry = ensemble.cols.get("entry_day")
        if entry is not None and np.any(entry != 0):
            raise InputError(
                f"scenario {scenario.name!r}: follow-up measures need a discharge cohort "
                "(everyone enters on day 0); population entries are staggered. Allowed: a "
                "cohort scenario such as no_group or capacity_building"
            )
        recorder = FollowUp(years, reading)
        recorder.observe(0, ensemble.cols)
        for day in range(1, horizon + 1):
            ensemble.step()
            recorder.observe(day, ensemble.cols)
            bar.update(len(indices))
        frame = recorder.per_replicate()
        frame["replicate"] = np.asarray(indices)[frame.pop("row").to_numpy()]
        frames.append(frame)
    bar.close()
    out = pd.concat(frames, ignore_index=True)
    order = out.groupby(["measure", "group"], sort=False).ngroup()  # as measured, then replicate
    out = out.iloc[np.lexsort((out["replicate"].to_numpy(), order.to_numpy()))]
    out = out.reset_index(drop=True)
    out.insert(0, "scenario", scenario.name)
    return out[["scenario", "replicate", "measure", "group", "value"]]


def summarise(per_replicate: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Tidy summary: (scenario, measure, group, value, lower, upper, replicates, interval):
    the mean over replicates with a `level` Monte Carlo CI of that mean (Student t; NaN
    replicates, with nobody to measure, dropped and not counted)."""
    keys = [k for k in ("scenario", "measure", "group") if k in per_replicate]
    rows = []
    for key, part in per_replicate.groupby(keys, sort=False):
        values = part["value"].to_numpy(dtype=float)
        mean, low, high = statistics.mean_ci(values, level)
        rows.append(
            (
                *(key if isinstance(key, tuple) else (key,)),
                mean,
                low,
                high,
                int(np.isfinite(values).sum()),
            )
        )
    out = pd.DataFrame(rows, columns=[*keys, "value", "lower", "upper", "replicates"])
    out["interval"] = f"{level:.0%} Monte Carlo CI of the replicate mean"
    return out


GROUPS: dict[str, str] = {
    "first_relapse_hazard": r"year [1-5]",
    "cumulative_relapse": r"year (1|5)",
    "next_year_relapse_by_abstinence": r"<1y|1-3y|3-5y|5y\+",
    "next_year_use_by_abstinence": r"<1y|1-3y|3-5y|5y\+",
    "quarterly_change_point": r"years 1-2|years 3\+|quarter \d+ to \d+",
    "quarterly_change_interval": r"years 1-2|years 3\+|quarter \d+ to \d+",
    "moved_twice_point": r"years 1-2",
    "moved_twice_interval": r"years 1-2",
    "early_relapse_share_90d": r"year 1",
    "early_use_share_90d": r"year 1",
    "meetings_relapsed": r"year 1|years 1-\d+",
    "meetings_not_relapsed": r"year 1|years 1-\d+",
    "meetings_ratio": r"year 1|years 1-\d+",
}
"""Every measure `per_replicate` reports -> the pattern of its groups (what a target names)."""
