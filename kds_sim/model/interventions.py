"""Capacity-building interventions as plug-ins: one class per kind, registered in one place.

A kind declares, together: its effect sizes (a schema section with units and sources, set in a
scenario under `intervention_effects.<kind>`), the fields of its `[[interventions]]` entries,
when it acts (on session days, or every day it runs), which PEKA domains it raises, and what
it does. The model calls the hooks; it never asks which kind it is holding. The kinds of the
brief (section 4) are registered below; `register` adds another (see docs/extending.md).
Every registered kind is capacity building: it raises PEKA domains, slows their erosion or
grows the membership, and reaches members only through the group's mechanisms
(kds_sim.model.group), one channel per domain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from kds_sim.model.parameters import DOMAINS, Section, param

if TYPE_CHECKING:
    from kds_sim.model.cohort import Cohort as KDSModel


class Intervention(Section):
    """One `[[interventions]]` entry: what is done, when, and how strongly."""

    kind: str = param(..., "choice", "brief section 4", "what is done (a registered kind)")
    start_day: int = param(0, "day", "scenario design", "day of the first session", ge=0)
    sessions: int = param(1, "sessions", "scenario design", "number of sessions", ge=1, le=1000)
    interval_days: int = param(7, "days", "scenario design", "days between sessions", ge=1)
    duration_days: int | None = param(
        None,
        "days",
        "scenario design",
        "mentoring/recruitment: how long it lasts (default: to the end of the run)",
        ge=1,
    )
    dose: float = param(
        1.0,
        "multiple of default",
        "scenario design",
        "scales every effect of this intervention",
        ge=0,
    )

    def session_days(self) -> range:
        return range(
            self.start_day, self.start_day + self.sessions * self.interval_days, self.interval_days
        )


class Effects(Section):
    """Effect sizes shared by every entry of a kind (`intervention_effects.<kind>`)."""


def gains(default: dict[str, float]) -> Any:
    """The `domain_gain` field of a kind, with its default gains."""
    return param(
        default,
        "PEKA points per session",
        "assumption: the paper reports no "
        "post-training scores; sized so the full model lifts every targeted domain "
        "above 2.75 (the good line)",
        "domain score gained per session, by domain",
    )


class SessionEffects(Effects):
    """Effects of a kind that raises PEKA domains at each session."""

    domain_gain: dict[str, float] = gains({})

    @model_validator(mode="after")
    def _known_domains(self) -> SessionEffects:
        for domain, value in self.domain_gain.items():
            if domain not in DOMAINS:
                raise ValueError(
                    f"unknown domain {domain!r} in domain_gain; allowed: {', '.join(DOMAINS)}"
                )
            if not value >= 0:
                raise ValueError(f"domain_gain.{domain} must be >= 0, got {value}")
        return self


class InterventionKind:
    """Base of every kind. Subclasses set the class attributes and override the hooks they use.

    `timing` is "sessions" (acts on start_day, start_day + interval_days, ... for `sessions`
    sessions) or "continuous" (acts every day from start_day for duration_days).
    """

    name: ClassVar[str]
    timing: ClassVar[Literal["sessions", "continuous"]] = "sessions"
    domains: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    entry_type: ClassVar[type[Intervention]] = Intervention
    effects_type: ClassVar[type[Effects]] = Effects

    def __init__(self, entry: Intervention, effects: Effects):
        self.entry = entry
        self.effects = effects
        # the days it acts, read once: acts_on is asked for every replicate every day
        self._days = entry.session_days()
        self._start = entry.start_day
        self._end = entry.start_day + entry.duration_days if entry.duration_days else None

    def acts_on(self, day: int) -> bool:
        if self.timing == "continuous":
            return day >= self._start and (self._end is None or day < self._end)
        return day in self._days

    def domain_gains(self) -> dict[str, float]:
        """PEKA points one session adds, by domain."""
        if not isinstance(self.effects, SessionEffects):
            return {}
        return {d: g * self.entry.dose for d, g in self.effects.domain_gain.items()}

    # hooks, in the order the model calls them on a day the intervention acts ---------------
    def on_day_start(self, model: KDSModel) -> None:
        """Before members drop out (recruitment drives act here)."""

    def on_session(self, model: KDSModel, draw: np.ndarray) -> None:
        """A session: raise the group's domains (and whatever else the kind does).

        `draw` is the day's uniform per person for attending the session.
        """
        raised = self.domain_gains()
        if raised:
            model.group.raise_capacity(raised)

    def erosion_protection(self) -> float:
        """At the end of the day: the share of capacity erosion this intervention prevents."""
        return 0.0


REGISTRY: dict[str, type[InterventionKind]] = {}


def register(kind: type[InterventionKind]) -> type[InterventionKind]:
    """Make a kind usable in scenario files (also usable as a class decorator)."""
    if not getattr(kind, "name", "") or not kind.name.isidentifier():
        raise ValueError(f"{kind.__name__}.name must be a lowercase identifier")
    unknown = [d for d in kind.domains if d not in DOMAINS]
    if unknown:
        raise ValueError(f"{kind.__name__}.domains: unknown {unknown}; allowed: {DOMAINS}")
    REGISTRY[kind.name] = kind
    return kind


def allowed_kinds() -> str:
    return ", ".join(REGISTRY)


def parse_entry(value: Any) -> Intervention:
    """Validate one `[[interventions]]` entry with its kind's own entry schema."""
    if isinstance(value, Intervention):
        return value
    if not isinstance(value, dict):
        raise ValueError("each [[interventions]] entry must be a table")
    kind = value.get("kind")
    if kind not in REGISTRY:
        # raised as a validation error at `kind`, so messages name interventions[i].kind
        problem = PydanticCustomError(
            "unknown_kind",
            "not a known intervention kind; allowed: {allowed}",
            {"allowed": allowed_kinds()},
        )
        raise ValidationError.from_exception_data(
            "Intervention", [InitErrorDetails(type=problem, loc=("kind",), input=kind)]
        )
    return REGISTRY[kind].entry_type.model_validate(value)


def parse_effects(value: Any) -> dict[str, Effects]:
    """Validate `intervention_effects`: one section per registered kind, defaults filled in."""
    value = value or {}
    if not isinstance(value, dict):
        raise ValueError("intervention_effects must be a table of kinds")
    unknown = [k for k in value if k not in REGISTRY]
    if unknown:
        raise ValueError(
            f"intervention_effects.{unknown[0]}: not a known intervention; "
            f"allowed: {allowed_kinds()}"
        )
    out: dict[str, Effects] = {}
    for name, kind in REGISTRY.items():
        given = value.get(name, {})
        if isinstance(given, kind.effects_type):
            out[name] = given
            continue
        try:
            out[name] = kind.effects_type.model_validate(given)
        except ValidationError as err:  # keep the kind in every error's location
            raise ValidationError.from_exception_data(
                "Effects",
                [
                    InitErrorDetails(
                        type=e["type"],
                        loc=(name, *e["loc"]),
                        input=e["input"],
                        ctx=e.get("ctx", {}),
                    )
                    for e in err.errors()
                ],
            ) from None
    return out


def plan(entries: list[Intervention], effects: dict[str, Effects]) -> list[InterventionKind]:
    """The scenario's interventions as plug-in objects, in file order."""
    return [
        REGISTRY[e.kind](e, effects.get(e.kind) or REGISTRY[e.kind].effects_type()) for e in entries
    ]


# The kinds of the brief ---------------------------------------------------------------------
class WorkPlanEffects(SessionEffects):
    domain_gain: dict[str, float] = gains(
        {"activity_management": 0.3, "sustainability": 0.3, "management_membership": 0.2}
    )


@register
class WorkPlan(InterventionKind):
    name = "work_plan"
    domains = ("activity_management", "sustainability", "management_membership")
    description = "drawing up a short- and long-term work plan with officers and members"
    effects_type = WorkPlanEffects


class TrainingEffects(SessionEffects):
    domain_gain: dict[str, float] = gains({"human_resources": 0.25})


@register
class RelapsePreventionTraining(InterventionKind):
    """Trains the group's people to run relapse-prevention work (model 0.3: through the
    human-resources score alone, which scales every later meeting's skill transfer; before
    0.3 it also trained attending members directly, so it acted twice)."""

    name = "relapse_prevention_training"
    domains = ("human_resources",)
    description = (
        "talks and discussion on high-risk situations, coping and refusal, and "
        "help-seeking after a lapse, raising the skill the group's meetings pass on"
    )
    effects_type = TrainingEffects


class GroupManagementEffects(SessionEffects):
    domain_gain: dict[str, float] = gains(
        {"management_membership": 0.15, "administration_finance": 0.2, "activity_management": 0.15}
    )


@register
class GroupManagementTraining(InterventionKind):
    name = "group_management_training"
    domains = ("management_membership", "administration_finance", "activity_management")
    description = "running meetings, decisions by deliberation, programme and finance records"
    effects_type = GroupManagementEffects


class NetworkingEffects(SessionEffects):
    domain_gain: dict[str, float] = gains({"external_relations": 0.2, "sustainability": 0.15})


@register
class NetworkingTraining(InterventionKind):
    name = "networking_training"
    domains = ("external_relations", "sustainability")
    description = "partnerships with BNN, health services and employers; proposal writing"
    effects_type = NetworkingEffects


class MentoringEffects(Effects):
    erosion_reduction: float = param(
        0.75,
        "share",
        "assumption: the paper says the group still needs ongoing mentoring",
        "share of capacity erosion that mentoring prevents",
        ge=0,
        le=1,
    )


@register
class Mentoring(InterventionKind):
    name = "mentoring"
    timing = "continuous"
    domains = ("sustainability",)
    description = "ongoing mentoring (pendampingan): slows the erosion of capacity while it runs"
    effects_type = MentoringEffects

    def erosion_protection(self) -> float:
        assert isinstance(self.effects, MentoringEffects)
        return self.effects.erosion_reduction * self.entry.dose


class RecruitmentEntry(Intervention):
    target_coverage: float = param(..., "share", "scenario design", "coverage to reach", ge=0, le=1)
    targeting: Literal["random", "most_using_ties", "most_engaged"] = param(
        "random", "choice", "scenario design", "who is recruited first"
    )


class RecruitmentEffects(Effects):
    per_month: float = param(
        0.05,
        "share of population per month",
        "assumption",
        "pace of recruitment drives",
        ge=0,
        le=1,
    )


@register
class Recruitment(InterventionKind):
    name = "recruitment"
    timing = "continuous"
    description = "recruitment drives that grow the membership towards a target coverage"
    entry_type = RecruitmentEntry
    effects_type = RecruitmentEffects

    def on_day_start(self, model: KDSModel) -> None:
        entry, p = self.entry, model.people
        assert isinstance(entry, RecruitmentEntry)
        assert isinstance(self.effects, RecruitmentEffects)
        target = int(round(entry.target_coverage * p.size))
        missing = target - int(p.member.sum())
        if missing <= 0:
            return
        pace = self.effects.per_month * entry.dose / 30.0
        quota = min(missing, max(1, int(round(pace * p.size))))
        model.enrol(entry.targeting, quota)


def recruitment_order(
    targeting: str, using_ties: np.ndarray, engagement: np.ndarray, priority: np.ndarray
) -> np.ndarray:
    """People in the order they join: random, most using-friend ties first, or most engaged."""
    if targeting == "most_using_ties":
        return np.lexsort((priority, -using_ties))
    if targeting == "most_engaged":
        return np.lexsort((priority, -engagement))
    return np.argsort(priority, kind="stable")
