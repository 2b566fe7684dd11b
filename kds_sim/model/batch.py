"""The batch: many replicates (and parameter sets) stepped as one [replicate x person]
batch, one day at a time, through the stages of `STAGES`; KDSModel (Mesa) is a one-row batch.

Each day costs one call of the compiled rules loop (`rules.advance_people`: rules.person_day for
every [replicate, person], each drawing its own counter-based uniforms, kds_sim.model.streams),
one block-diagonal sparse mat-vec for relapsed peers, and column counts for the daily table. A
replicate's numbers depend on (root seed, replicate index) alone, so its tables are identical
in any batch. Rows may carry different scenarios (parameter draws): the rules read one record
of behaviour coefficients per row (`rules.coefficients`), the group stage one record of group
settings per row (`group.coefficients`), so one stage serves every batch; interventions' hooks
act row by row on the row's `Cohort`. The rules and bookkeeping stages run on tiles of the
batch over a small thread pool (kds_sim.model.threads); any tiling gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from kds_sim.model import compiled_stages, group, network, rules, streams, threads
from kds_sim.model.cohort import (
    DROPOUT,
    EVENTS,
    GROUP_DRAWS,
    MEETING,
    PERSON_INPUTS,
    TRAINING,
    Cohort,
    person_columns,
)
from kds_sim.model.compiled_stages import COUNTS, MODEL_0_3, TALLIES
from kds_sim.model.parameters import DOMAINS
from kds_sim.model.people import COLUMNS, People
from kds_sim.model.rules import ABSENT, ABSTINENT, RELAPSED, STAYED
from kds_sim.model.scenario import Scenario
from kds_sim.model.streams import Draw

DAILY = (
    "day",
    *COUNTS,
    "reentries",
    "exposures",
    "members",
    "meeting_held",
    "attendance",
    "group_active",
    "mean_coping",
    "mean_self_efficacy",
    "capacity_mean",
    *(f"capacity_{d}" for d in DOMAINS),
    "present",
    "exits",
    "remissions",
    *MODEL_0_3,
)
"""Columns of the daily table, in KDSModel's DataCollector order; the `MODEL_0_3` columns
(people in treatment, incarcerated, life events) only when a row has a 0.3 rule mechanism on,
so tables of 0.2 scenarios keep their columns (`Ensemble.daily_names`)."""

INTEGER_DAILY = ("day", *TALLIES)
BOOL_DAILY = ("meeting_held", "group_active")
"""Daily columns held as int64 and bool; the others are float64."""

LEARNT = ("coping", "self_efficacy", "outcome_expectancy", "help_seeking")
"""The columns rules.learn reads and writes."""

STAGES: tuple[tuple[str, str], ...] = (
    ("admit", "people discharged today join the population (and the group, at its coverage)"),
    ("group", "a meeting group: start-of-day hooks, dropout, sessions, a meeting and attendance"),
    (
        "exposure",
        "using contacts from the start-of-day state; the group's partners cut members' idle "
        "time and stress target",
    ),
    (
        "rules",
        "the relapse rules (`rules.person_day`) for every person, each drawing its own uniforms",
    ),
    ("bookkeeping", "first lapse and relapse days, counts, ties to users that ended, exits"),
    ("erosion", "capacity erodes (slower under mentoring); below the threshold the group stops"),
    ("record", "the day's row of the daily table"),
)
"""The stages of a day, in order: `Ensemble.step` runs `stage_<name>` for each (the table in
docs/model.md section 3 is this one). KDSModel's agent engine replaces only "rules"."""

BYTES_PER_PERSON_DAY = 1500
"""Rough working memory of one person in a batch (uniforms, columns, rule temporaries)."""


class Ensemble:
    """R replicates of n people each, stepped together one day at a time."""

    def __init__(self, scenarios: Sequence[Scenario], seeds: Sequence[np.random.SeedSequence]):
        self.cohorts = []
        for scenario, seed in zip(scenarios, seeds, strict=True):
            cohort = Cohort()
            cohort.setup(scenario, seed)
            self.cohorts.append(cohort)
        sizes = {c.people.size for c in self.cohorts}
        if len(sizes) != 1:
            raise ValueError(f"a batch needs one cohort size, got {sorted(sizes)}")
        self.size = n = sizes.pop()
        self.replicates = r = len(self.cohorts)
        self.day = 0
        # state as [R, n] columns; each cohort's People and event arrays become row views
        self.cols = {k: np.stack([getattr(c.people, k) for c in self.cohorts]) for k in COLUMNS}
        self.events = {k: np.zeros((r, n), dtype=bool) for k in EVENTS}
        self.attended = np.zeros((r, n), dtype=bool)
        for i, c in enumerate(self.cohorts):
            c.people = People(**{k: v[i] for k, v in self.cols.items()})
            c.events = {k: v[i] for k, v in self.events.items()}
            c.attended = self.attended[i]
        self.lost = np.stack([c.network.lost for c in self.cohorts])
        for i, c in enumerate(self.cohorts):
            c.network.lost = self.lost[i]
        self.peers = sparse.block_diag([c.network.peers for c in self.cohorts], format="csr")
        self.coefficients = rules.coefficients([c.behaviour for c in self.cohorts])
        self.keys = np.stack([c.key for c in self.cohorts])
        self.exit_rows = np.flatnonzero(
            [any(getattr(c.settings.population, k) for k in rules.EXIT_RATES) for c in self.cohorts]
        )
        """Rows whose population has deaths or moves."""
        self.exit_rates = SimpleNamespace(
            **{
                name: np.array(
                    [[getattr(self.cohorts[i].settings.population, name)] for i in self.exit_rows]
                )
                for name in rules.EXIT_RATES
            }
        )
        """Those rows' exit rates by name, [row, 1] (rules.exit_probabilities)."""
        self.uniforms = np.empty((r, len(GROUP_DRAWS), n))
        self.meeting_draws = np.empty(r)
        self.horizon = max(c.settings.run.horizon_days for c in self.cohorts)
        self.daily = {k: np.zeros((r, self.horizon + 1)) for k in DAILY}
        self.enabled = np.array([c.group.enabled for c in self.cohorts])
        self.held = np.zeros(r, dtype=bool)
        self.active = np.zeros(r, dtype=bool)
        self.today: dict[str, np.ndarray] = {}
        self.counts = np.zeros((r, len(TALLIES)), dtype=np.int64)
        self.group_coefficients = group.coefficients([c.settings.group for c in self.cohorts])
        self._settings: dict[tuple[bytes, bool], SimpleNamespace] = {}
        plans: dict[int, list[int]] = {}
        for i, c in enumerate(self.cohorts):  # rows of one Scenario object share a plan
            plans.setdefault(id(c.settings), []).append(i)
        self.plans = [(rows[0], np.array(rows)) for rows in plans.values()]
        # capacity as [domain, replicate]; each group's capacity is a column view of it
        self.capacity = np.stack([c.group.capacity for c in self.cohorts], axis=1)
        for i, c in enumerate(self.cohorts):
            c.group.capacity = self.capacity[:, i]
        for k in ("capacity_mean", *(f"capacity_{d}" for d in DOMAINS)):
            self.daily[k][~self.enabled] = np.nan
        self.state_attendance = (self.group_coefficients["relapsed_attendance_ratio"] != 1.0) | (
            self.coefficients["extended"] > 0
        )
        """Rows whose attendance depends on the member's state (model 0.3)."""
        self.daily_names = tuple(
            k for k in DAILY if k not in MODEL_0_3 or (self.coefficients["extended"] > 0).any()
        )
        """The daily table's columns for this batch (see DAILY)."""
        self.tiles = threads.tiles(r, n)
        """The day's tiles of work (kds_sim.model.threads), fixed at the start."""
        self._collect()

    def step(self) -> None:
        """One day: every stage of `STAGES`, in order, for every row."""
        self.day += 1
        for name, _ in STAGES:
            getattr(self, f"stage_{name}")()

    # -- the stages of a day, in the order of STAGES ------------------------------------------
    def stage_admit(self) -> None:
        for c in self.cohorts:
            c.admit(self.day)

    def stage_group(self) -> None:
        """Recruitment, dropout, sessions, a meeting and attendance, for every row with an
        active group at once; interventions' hooks row by row."""
        day, u, cols, capacity = self.day, self.uniforms, self.cols, self.capacity
        self.attended[:] = False
        self.held[:] = False
        self.active = active = np.array([c.group.active for c in self.cohorts])
        if not active.any():
            return
        # only a meeting group draws: its draws have their own addresses
        u[active] = streams.person_uniforms(self.keys[active], self.size, day, GROUP_DRAWS)
        self.meeting_draws[:] = streams.group_uniforms(self.keys, day)
        rows = np.flatnonzero(active)
        acting = self._acting(rows)
        for members, which in acting:
            for i in members:
                for j in which:
                    self.cohorts[i].interventions[j].on_day_start(self.cohorts[i])
        member = cols["member"]
        g = self._group_settings(rows, per_person=True)
        dropout = group.dropout_probability(capacity[:, rows, None], g)
        status = cols["status"][rows]
        if (g.relapsed_dropout_ratio != 1.0).any():  # model 0.3 (1: the 0.2 model)
            dropout = dropout * group.dropout_by_state(status, g)
        if (g.rejoin_per_month > 0).any():  # model 0.3: the same draw decides for non-members
            former = cols["ever_member"][rows] & ~member[rows] & (status == ABSTINENT)
            back = former & (u[rows, DROPOUT] < group.rejoin_probability(g))
        else:
            back = None
        member[rows] &= ~(u[rows, DROPOUT] < dropout)
        if back is not None:
            member[rows] |= back
        for members, which in acting:
            for i in members:
                for j in which:
                    self.cohorts[i].interventions[j].on_session(self.cohorts[i], u[i, TRAINING])
        g = self._group_settings(rows)
        held = self.meeting_draws[rows] < group.meeting_probability(capacity[:, rows], g)
        self.held[rows] = held
        rows = rows[held]
        if rows.size == 0:
            return
        g, level = self._group_settings(rows, per_person=True), capacity[:, rows, None]
        attendance = group.attendance_probability(cols["engagement"][rows], level, g)
        if self.state_attendance[rows].any():  # model 0.3: by state (off: the 0.2 model)
            attendance = attendance * group.attendance_by_state(cols["status"][rows], g)
        attended = member[rows] & (u[rows, MEETING] < attendance)
        self.attended[rows] = attended
        friends = group.befriended(attended, u[rows, MEETING], attendance, g)
        for j, i in enumerate(rows):
            self.cohorts[i].befriend(friends[j])
        cols["meetings_attended"][rows] += attended
        cols["stress"][rows] = group.relieve_stress(cols["stress"][rows], attended, g)
        learnt = rules.learn(
            {k: cols[k][rows] for k in LEARNT},
            group.skill_transfer(level, g) * attended,
            group.meeting_gains(g),
        )
        for k, v in learnt.items():
            cols[k][rows] = v

    def stage_exposure(self) -> None:
        cols, active = self.cols, self.active
        relapsed = cols["status"] == RELAPSED
        contacts = cols["using_ties"] + network.relapsed_peers(self.peers, relapsed)
        idle, stress_target = cols["idle"], cols["stress_baseline"]
        if active.any():  # the group's partners, by its external relations
            g = self._group_settings(slice(None), per_person=True)
            level = self.capacity[:, :, None]
            member = cols["member"].astype(np.float64)
            on = active[:, None]
            idle_cut, stress_cut = group.idle_reduction(level, g), group.stress_reduction(level, g)
            if (g.partner_attendance_scaling > 0).any():  # model 0.3: scaled by attendance
                chance = group.attendance_probability(cols["engagement"], level, g)
                if self.state_attendance.any():
                    chance = chance * group.attendance_by_state(cols["status"], g)
                reach = group.partner_reach(chance, g)
                idle_cut, stress_cut = idle_cut * reach, stress_cut * reach
            idle = np.where(on, idle * (1.0 - member * idle_cut), idle)
            stress_target = np.where(on, stress_target * (1.0 - member * stress_cut), stress_target)
        self.today = {"contacts": contacts, "idle": idle, "stress_target": stress_target}

    def stage_rules(self) -> None:
        cols, t, e, day, k, keys = (
            self.cols,
            self.today,
            self.events,
            self.day,
            self.coefficients,
            self.keys,
        )
        loop = rules.kernel("loop")
        names = (*rules.STATE, *rules.TRAITS_READ)

        def tile(r0: int, r1: int, p0: int, p1: int) -> None:
            at = (slice(r0, r1), slice(p0, p1))
            loop(
                *(cols[name][at] for name in names),
                *(t[name][at] for name in rules.INPUTS),
                keys[r0:r1],
                day,
                k[r0:r1],
                *(e[name][at] for name in rules.EVENTS),
                *(cols[name][at] for name in rules.LATE_READ),
                p0,
            )

        threads.run(tile, self.tiles)

    def stage_bookkeeping(self) -> None:
        day, cols, e = self.day, self.cols, self.events

        def tile(r0: int, r1: int, p0: int, p1: int) -> None:
            at = (slice(r0, r1), slice(p0, p1))
            compiled_stages.keep_books(
                day,
                e["lapse"][at],
                e["relapse"][at],
                e["remission"][at],
                e["using_tie_lost"][at],  # network.drop_using_ties, every row at once
                cols["first_lapse_day"][at],
                cols["first_relapse_day"][at],
                cols["lapses"][at],
                cols["relapses"][at],
                cols["remissions"][at],
                self.lost[at],
            )

        threads.run(tile, self.tiles)
        self._leave(day)

    def _leave(self, day: int) -> None:
        """Deaths (overdose among them) and moves, decided by each person's EXIT draw, in
        every row whose population has exits, at once."""
        rows = self.exit_rows
        if rows.size == 0:
            return
        cols = self.cols
        u = streams.person_uniforms(self.keys[rows], self.size, day, (Draw.EXIT,))[:, 0]
        reason = rules.exit_reason(u, cols["status"][rows], self.exit_rates)
        row, person = np.nonzero(reason != STAYED)
        if row.size == 0:
            return
        at = (rows[row], person)
        cols["status"][at] = ABSENT
        cols["exit_day"][at] = day
        cols["exit_reason"][at] = reason[row, person]
        cols["member"][at] = False

    def stage_erosion(self) -> None:
        """Capacity erodes (slower under mentoring); a group below the threshold stops."""
        day, capacity = self.day, self.capacity
        rows = np.flatnonzero([c.group.active for c in self.cohorts])
        if rows.size == 0:
            return
        protection = np.zeros(self.replicates)
        for members, which in self._acting(rows):  # the plan's share: its first row's kinds
            kinds = self.cohorts[members[0]].interventions
            protection[members] = min(1.0, sum((kinds[j].erosion_protection() for j in which), 0.0))
        protection = protection[rows]
        g = self._group_settings(rows)
        capacity[:, rows] = group.erode(capacity[:, rows], g, protection)
        stopped = rows[group.mean_capacity(capacity[:, rows]) < g.stop_threshold]
        for i in stopped:
            self.cohorts[i].group.active = False
            self.cohorts[i].group.stopped_day = day

    def stage_record(self) -> None:
        self._collect()

    def _acting(self, rows: np.ndarray) -> list[tuple[list[int], list[int]]]:
        """Interventions acting today (timing counts from day 0), by plan: the plan's rows
        among `rows`, and the positions in the plan of the interventions that act. Rows made
        from one Scenario object share a plan, so its timing is read once for all of them
        (and its erosion protection); the hooks act on each row's own objects."""
        day, wanted = self.day - 1, np.zeros(self.replicates, dtype=bool)
        wanted[rows] = True
        out = []
        for first, members in self.plans:
            which = [j for j, k in enumerate(self.cohorts[first].interventions) if k.acts_on(day)]
            chosen = members[wanted[members]].tolist()
            if which and chosen:
                out.append((chosen, which))
        return out

    def _group_settings(self, rows: Any, per_person: bool = False) -> Any:
        """Rows' group settings (`group.coefficients`) as arrays by name, [row] or, per person,
        [row, 1] to broadcast over people. Remembered: the rows change only when a group stops."""
        key = (np.arange(self.replicates)[rows].tobytes(), per_person)
        found = self._settings.get(key)
        if found is None:
            g = self.group_coefficients[rows]
            found = SimpleNamespace(
                **{k: g[k][:, None] if per_person else g[k] for k in group.COEFFICIENTS}
            )
            self._settings[key] = found
        return found

    def _collect(self) -> None:
        """The day's row of every replicate's daily table, counted from the arrays."""
        d, cols, e, out = self.day, self.cols, self.events, self.daily
        if d >= out["day"].shape[1]:  # a Mesa model stepped past its horizon: room for more
            for k, v in out.items():
                out[k] = np.concatenate([v, np.zeros_like(v)], axis=1)
                if k.startswith("capacity_"):
                    out[k][~self.enabled] = np.nan
        out["day"][:, d] = d
        counts = self.counts
        compiled_stages.tally_day(
            d,
            cols["status"],
            cols["first_relapse_day"],
            cols["member"],
            cols["exit_day"],
            e["lapse"],
            e["relapse"],
            e["reentry"],
            e["exposed"],
            e["remission"],
            self.attended,
            e["life_event"],
            counts,
        )
        for j, name in enumerate(TALLIES):
            out[name][:, d] = counts[:, j]
        if (counts[:, TALLIES.index("present")] == self.size).all():
            out["mean_coping"][:, d] = cols["coping"].mean(axis=1)
            out["mean_self_efficacy"][:, d] = cols["self_efficacy"].mean(axis=1)
        else:  # over the people present, row by row: sum / count is ndarray.mean bit for bit
            present = cols["status"] != ABSENT
            coping, efficacy = cols["coping"], cols["self_efficacy"]
            for i, here in enumerate(present):
                count = int(np.count_nonzero(here))
                out["mean_coping"][i, d] = np.add.reduce(coping[i, here]) / count
                out["mean_self_efficacy"][i, d] = np.add.reduce(efficacy[i, here]) / count
        groups = [c.group for c in self.cohorts]
        out["meeting_held"][:, d] = self.held
        out["group_active"][:, d] = [g.active for g in groups]
        enabled = self.enabled
        if enabled.any():
            capacity = self.capacity.T
            out["capacity_mean"][enabled, d] = group.mean_capacity(capacity[enabled].T)
            for j, domain in enumerate(DOMAINS):
                out[f"capacity_{domain}"][enabled, d] = capacity[enabled, j]

    def run(self) -> Ensemble:
        for _ in range(self.horizon):
            self.step()
        return self

    def daily_columns(self) -> dict[str, np.ndarray]:
        """The daily table's columns, [row, day], with the table's dtypes."""
        out = {}
        for k in self.daily_names:
            v = self.daily[k]
            dtype = np.int64 if k in INTEGER_DAILY else bool if k in BOOL_DAILY else np.float64
            out[k] = v[:, : self.day + 1].astype(dtype)
        return out

    def person_columns(self) -> dict[str, np.ndarray]:
        """The person table's columns, [row, person]."""
        p = {name: self.cols[name] for name in PERSON_INPUTS}
        for name, attribute in (
            ("using_ties_start", "using_ties"),
            ("supportive_ties_start", "supportive_ties"),
            ("stigmatising_ties", "stigmatising_ties"),
        ):
            p[name] = np.stack([getattr(c.network, attribute) for c in self.cohorts])
        return person_columns(p, self.horizon)

    def tables(self, i: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Row i's daily and person tables, as KDSModel.daily_table and person_table give them."""
        daily = pd.DataFrame({k: v[i] for k, v in self.daily_columns().items()})
        return daily, self.cohorts[i].person_table(self.horizon)


def batch_size(people: int, budget_mb: float) -> int:
    """Replicates of `people` each that fit in a memory budget (at least one)."""
    return max(1, int(budget_mb * 1e6 // (people * BYTES_PER_PERSON_DAY)))
