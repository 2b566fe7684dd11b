"""Mesa agents. Their state lives in the model's arrays (kds_sim.people), so the same person
can be stepped alone (agent engine) or with everyone at once (vector engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from kds_sim.behaviour import STATES

if TYPE_CHECKING:
    from kds_sim.model import KDSModel


def _column(name: str) -> property:
    def get(self: RecoveringPerson):
        return self.model.people.__dict__[name][self.index].item()

    return property(get, doc=f"this person's {name.replace('_', ' ')} (read from the model)")


class RecoveringPerson(mesa.Agent):
    """A former user after rehab, carrying the Marlatt & Gordon attributes."""

    model: KDSModel

    coping = _column("coping")
    self_efficacy = _column("self_efficacy")
    outcome_expectancy = _column("outcome_expectancy")
    ave_susceptibility = _column("ave_susceptibility")
    stress = _column("stress")
    craving = _column("craving")
    idle = _column("idle")
    help_seeking = _column("help_seeking")
    engagement = _column("engagement")
    days_abstinent = _column("days_abstinent")
    first_lapse_day = _column("first_lapse_day")
    first_relapse_day = _column("first_relapse_day")
    member = _column("member")
    meetings_attended = _column("meetings_attended")

    def __init__(self, model: KDSModel, index: int):
        super().__init__(model)
        self.index = index
        self._row = slice(index, index + 1)

    @property
    def state(self) -> str:
        return STATES[int(self.model.people.status[self.index])]

    def step(self) -> None:
        """One day of the relapse rules for this person alone (agent engine)."""
        self.model.apply_rules(self._row)


class UsingFriend(mesa.Agent):
    """An active user tied to recovering people: the source of offers and social pressure."""

    def __init__(self, model: KDSModel, index: int):
        super().__init__(model)
        self.index = index

    @property
    def ties(self) -> list[int]:
        """Indices of the recovering people this user is tied to."""
        owners, friends = self.model.network.using_edges
        return owners[friends == self.index].tolist()
