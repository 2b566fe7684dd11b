"""A person's story in plain words, built from the model's real daily events.

Each day the model reports, per person, whether they met a high-risk situation, coped,
lapsed, relapsed or re-entered treatment (`model.events`; with model 0.3's mechanisms also
stressful life events, a using tie formed again, arrest and release, the end of a treatment
stay), whether they attended a meeting (`model.attended`), their status and membership, and
why they left the population, if they did (died, of an overdose, or moved away).
`day_entries` turns one day of those arrays into story entries (a day and a few event codes);
`render` writes an entry in either language from the message catalogue. This is the Marlatt &
Gordon chain made visible: high-risk situation -> coping or not -> lapse -> abstinence
violation -> relapse.

The model draws one combined daily hazard of a high-risk situation; the story names its
largest part for that person on that day (using friends, relapsed peers, stress, idle time,
or the base rate of low mood, conflict and places that recall use).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from kds_sim.messages import t
from kds_sim.model.rules import (
    ABSENT,
    ABSTINENT,
    DIED,
    IN_TREATMENT,
    LAPSED,
    MOVED,
    OVERDOSE,
    RELAPSED,
)

EXIT_CODES = {DIED: "died", OVERDOSE: "died_overdose", MOVED: "moved"}
"""Why someone left the population (people.exit_reason), as story codes."""
CAUSES: tuple[str, ...] = ("using_friend", "relapsed_peer", "stress", "idle", "other")


@dataclass(frozen=True)
class StoryEntry:
    """What happened to one person on one day, as message codes (`story.<code>`)."""

    day: int
    codes: tuple[str, ...]


def likely_causes(
    using_ties: np.ndarray,
    relapsed_peers: np.ndarray,
    stress: np.ndarray,
    idle: np.ndarray,
    rates: tuple[float, float, float, float],
) -> np.ndarray:
    """Index into CAUSES of the largest part of each person's hazard of a high-risk situation.

    `rates` are the scenario's behaviour.hrs_rate_per_using_tie, hrs_stress_rate,
    hrs_idle_rate and hrs_base_rate.
    """
    per_tie, per_stress, per_idle, base = rates
    parts = np.vstack(
        [
            per_tie * using_ties,
            per_tie * relapsed_peers,
            per_stress * stress,
            per_idle * idle,
            np.full(len(stress), base),
        ]
    )
    return np.argmax(parts, axis=0)


def first_entry(member: bool) -> StoryEntry:
    """Day 0: discharge from rehab (and membership, for people who start in the group)."""
    return StoryEntry(0, ("discharged", "joined") if member else ("discharged",))


def day_entries(
    day: int,
    events: Mapping[str, np.ndarray],
    status_before: np.ndarray,
    status_after: np.ndarray,
    member_before: np.ndarray,
    member_after: np.ndarray,
    attended: np.ndarray,
    causes: np.ndarray,
    exit_reason: np.ndarray | None = None,
) -> dict[int, StoryEntry]:
    """Story entries of everyone something happened to on `day`, by person index.

    Model 0.3's events (life_event, using_tie_formed, incarcerated, released, discharged) may
    be missing from `events` (a 0.2 caller): then nobody had them."""
    none = np.zeros(len(status_after), dtype=bool)
    exposed, coped = events["exposed"], events["coped"]
    lapse, relapse, reentry = events["lapse"], events["relapse"], events["reentry"]
    life, formed = events.get("life_event", none), events.get("using_tie_formed", none)
    jailed, released = events.get("incarcerated", none), events.get("released", none)
    treated = events.get("discharged", none)  # the end of a treatment stay
    gone = (status_before != ABSENT) & (status_after == ABSENT)
    joined = member_after & ~member_before
    left = member_before & ~member_after & ~gone
    ended = (status_before == LAPSED) & (status_after == ABSTINENT)
    anything = exposed | relapse | reentry | ended | joined | left | attended
    anything |= life | formed | jailed | released | treated | gone
    entries: dict[int, StoryEntry] = {}
    for i in np.flatnonzero(anything).tolist():
        codes: list[str] = []
        if life[i]:
            codes.append("life_event")
        if joined[i]:
            codes.append("joined")
        if left[i]:
            codes.append("left")
        if attended[i]:
            codes.append("meeting")
        if exposed[i]:
            codes.append(f"hrs_{CAUSES[int(causes[i])]}")
            if coped[i]:
                codes.append("coped")
            else:
                codes += ["coping_failed", "lapsed" if lapse[i] else "resisted"]
        if relapse[i]:
            codes.append("relapse")
        elif ended[i] and not reentry[i]:
            codes.append("lapse_ended")
        if reentry[i]:
            codes.append("treatment_stay" if status_after[i] == IN_TREATMENT else "reentry")
        if treated[i]:
            codes.append("treatment_done")
        if formed[i]:
            codes.append("tie_formed")
        if jailed[i]:
            codes.append("incarcerated")
        if released[i]:
            codes.append("released_using" if status_after[i] == RELAPSED else "released")
        if gone[i]:
            reason = DIED if exit_reason is None else int(exit_reason[i])
            codes.append(EXIT_CODES.get(reason, "died"))
        entries[i] = StoryEntry(day, tuple(codes))
    return entries


def render(entry: StoryEntry, lang: str) -> str:
    """One story line, e.g. 'day 12: met a using friend (high-risk situation), lapsed'."""
    text = ", ".join(t(f"story.{code}", lang) for code in entry.codes)
    return t("story.line", lang, day=entry.day, text=text)


def render_story(entries: list[StoryEntry], lang: str, latest_first: bool = True) -> list[str]:
    """A person's whole story, one line per day on which something happened."""
    ordered = reversed(entries) if latest_first else iter(entries)
    return [render(entry, lang) for entry in ordered]
