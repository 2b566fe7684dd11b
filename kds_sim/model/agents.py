"""Mesa agents. Their state lives in the model's arrays (kds_sim.model.people), so the same person
can be stepped alone (agent engine) or with everyone at once (vector engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

from kds_sim.model.people import MEANINGS
from kds_sim.model.rules import STATES

if TYPE_CHECKING:
    from kds_sim.model.kds_model import KDSModel


def _column(name: str) -> property:
    def get(self: RecoveringPerson) -> Any:
        return getattr(self.model.people, name)[self.index].item()

    return property(get, doc=f"this person's {MEANINGS[name]} (read from the model)")


class RecoveringPerson(mesa.Agent):
    """A former user after rehab, carrying the Marlatt & Gordon attributes."""

    model: KDSModel

    def __init__(self, model: KDSModel, index: int):
        super().__init__(model)
        self.index = index

    @property
    def state(self) -> str:
        return STATES[int(self.model.people.status[self.index])]

    def step(self) -> None:
        """One day of the relapse rules for this person alone (agent engine)."""
        self.model.apply_rules_to(self.index)


# every declared person column is a read-only attribute of the agent
for _name in MEANINGS:
    if _name != "status":
        setattr(RecoveringPerson, _name, _column(_name))


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
