"""The recovering people as columns of numpy arrays (one row a person), and their first draw.

Attributes are drawn by the quantile transform of fixed uniforms: a person keeps the same
rank in every scenario of a replicate, so changing a distribution's mean moves everyone
smoothly (common random numbers, and a smooth objective for calibration).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from kds_sim.behaviour import ABSTINENT
from kds_sim.parameters import Distribution, Population

TRAITS = ("coping", "self_efficacy", "outcome_expectancy", "ave_susceptibility", "stress",
          "craving", "idle", "help_seeking", "engagement")


def beta_quantile(u: np.ndarray, d: Distribution) -> np.ndarray:
    """Values of a Beta(mean, sd) attribute at the quantiles u."""
    if d.sd == 0:
        return np.full_like(u, d.mean)
    k = d.mean * (1 - d.mean) / d.sd**2 - 1
    return stats.beta.ppf(u, d.mean * k, (1 - d.mean) * k)


class People:
    """Struct of arrays: `people.coping[i]` is person i's coping skill."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self.__dict__.update(columns)
        self.columns = list(columns)

    @property
    def size(self) -> int:
        return len(self.status)

    def view(self, index) -> dict[str, np.ndarray]:
        return {name: getattr(self, name)[index] for name in self.columns}

    def write(self, index, values: dict[str, np.ndarray]) -> None:
        for name, value in values.items():
            getattr(self, name)[index] = value


def draw_people(population: Population, size: int, rng: np.random.Generator) -> People:
    """A cohort at discharge from rehab: everyone abstinent, attributes drawn from the scenario."""
    uniforms = rng.random((len(TRAITS) + 1, size))
    columns: dict[str, np.ndarray] = {
        trait: beta_quantile(uniforms[i], getattr(population, trait))
        for i, trait in enumerate(TRAITS)
    }
    columns["recruit_priority"] = uniforms[len(TRAITS)]
    columns["self_efficacy_at_discharge"] = columns["self_efficacy"].copy()
    columns["craving_at_discharge"] = columns["craving"].copy()
    columns["stress_baseline"] = columns["stress"].copy()
    columns["status"] = np.full(size, ABSTINENT, dtype=np.int8)
    columns["days_abstinent"] = np.zeros(size, dtype=np.int32)
    columns["member"] = np.zeros(size, dtype=bool)
    columns["ever_member"] = np.zeros(size, dtype=bool)
    columns["meetings_attended"] = np.zeros(size, dtype=np.int32)
    columns["first_lapse_day"] = np.full(size, -1, dtype=np.int32)
    columns["first_relapse_day"] = np.full(size, -1, dtype=np.int32)
    columns["lapses"] = np.zeros(size, dtype=np.int32)
    columns["relapses"] = np.zeros(size, dtype=np.int32)
    return People(columns)
