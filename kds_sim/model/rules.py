"""The daily relapse rules (Marlatt & Gordon, as a dynamic system after Witkiewitz & Marlatt 2004).

Each rule is a plain function of attribute values and parameters. Every function
works on numpy arrays and on scalars alike, so the vectorised engine and the
per-agent Mesa engine call the very same code. Random draws are passed in as
uniforms (`u`), never drawn here, which keeps the rules pure and lets scenarios
share common random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np

from kds_sim.model.parameters import Behaviour

ABSTINENT, LAPSED, RELAPSED = 0, 1, 2
STATES = {ABSTINENT: "abstinent", LAPSED: "lapsed", RELAPSED: "relapsed"}


class Draw(IntEnum):
    """Rows of the day's uniform matrix, one per random decision, in a fixed order.

    Every scenario draws the whole matrix every day whether or not a row is used, so the
    same row holds the same numbers in every scenario of a replicate (common random numbers).
    """

    EXPOSURE = 0
    COPING = 1
    LAPSE = 2
    RESOLVE = 3
    RELAPSE = 4
    REENTRY = 5
    MEETING = 6
    TRAINING = 7
    DROPOUT = 8


N_DRAWS = len(Draw)


def logistic(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def toward(value: Any, target: Any, share: Any) -> Any:
    """Move `value` a `share` of the way to `target` (share 0 to 1)."""
    return value + share * (target - value)


# 1. Exposure to a high-risk situation -------------------------------------------------------
def exposure_probability(using_contacts, stress, idle, b: Behaviour):
    """Daily chance of a high-risk situation: using friends, relapsed peers, stress, idle time."""
    hazard = (
        b.hrs_base_rate
        + b.hrs_rate_per_using_tie * using_contacts
        + b.hrs_stress_rate * stress
        + b.hrs_idle_rate * idle
    )
    return 1.0 - np.exp(-hazard)


# 2. Coping response ---------------------------------------------------------------------------
def coping_probability(coping, self_efficacy, craving, b: Behaviour):
    """Chance that coping succeeds: rises with skill and confidence, falls with craving."""
    return logistic(
        b.coping_intercept
        + b.coping_weight * coping
        + b.self_efficacy_weight * self_efficacy
        - b.craving_weight * craving
    )


def self_efficacy_after_coping(self_efficacy, coped, failed, b: Behaviour):
    """Success builds confidence; failure erodes it (coped and failed are 0/1 or booleans)."""
    gained = toward(self_efficacy, 1.0, b.self_efficacy_gain * coped)
    return gained * (1.0 - b.self_efficacy_loss * failed)


# 3. Lapse after failed coping -----------------------------------------------------------------
def lapse_probability(outcome_expectancy, craving, b: Behaviour):
    """Chance of using after coping failed: driven by positive outcome expectancy and craving."""
    return logistic(
        b.lapse_intercept
        + b.expectancy_weight * outcome_expectancy
        + b.lapse_craving_weight * craving
    )


# 4. Abstinence violation effect ---------------------------------------------------------------
def lapse_resolution_probability(b: Behaviour):
    """Daily chance that an open lapse resolves (into relapse or back to abstinence)."""
    return 1.0 / b.lapse_resolution_days


def relapse_probability(ave_susceptibility, help_seeking, b: Behaviour):
    """Chance that a lapse becomes a relapse: AVE pushes, help from others pulls back."""
    return logistic(
        b.ave_intercept + b.ave_weight * ave_susceptibility - b.help_weight * help_seeking
    )


# 5. Recovery dynamics ----------------------------------------------------------------------
def craving_next(craving, abstinent, exposed, b: Behaviour):
    """Craving decays towards its floor while abstinent and flares in high-risk situations."""
    share = abstinent * (1.0 - np.exp(-1.0 / b.craving_decay_days))
    decayed = toward(craving, b.craving_floor, share)
    return toward(decayed, 1.0, b.exposure_craving_boost * exposed)


def self_efficacy_growth(self_efficacy, abstinent, b: Behaviour):
    """Confidence grows slowly with every abstinent day."""
    return toward(self_efficacy, 1.0, b.self_efficacy_growth * abstinent)


def stress_next(stress, stress_baseline, b: Behaviour):
    """Proximal stress relaxes towards its distal baseline (stigma, support, economy)."""
    return toward(stress, stress_baseline, 1.0 - np.exp(-1.0 / b.stress_relax_days))


def reentry_probability(b: Behaviour):
    """Daily chance that a relapsed person re-enters treatment."""
    return 1.0 - np.exp(-b.reentry_rate / 365.0)


def stress_baseline(stress, stigmatising_ties, supportive_ties, b: Behaviour):
    """Distal stress: own baseline, raised by stigmatising ties, lowered by supportive ones."""
    value = (
        stress
        + b.stigma_stress_per_tie * stigmatising_ties
        - b.support_stress_per_tie * supportive_ties
    )
    return np.clip(value, 0.0, 1.0)


def help_seeking_baseline(help_seeking, supportive_ties, b: Behaviour):
    """Help-seeking after a lapse is easier for people with supportive ties."""
    return np.clip(help_seeking + b.support_help_per_tie * supportive_ties, 0.0, 1.0)


# One day, for any number of people ----------------------------------------------------------
def advance_day(
    p: dict[str, Any],
    using_contacts: Any,
    idle: Any,
    stress_target: Any,
    u: np.ndarray,
    b: Behaviour,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply one day's rules to the people in `p` (a mapping of equal-length arrays or scalars).

    `u` holds the day's uniforms, one row per `Draw`. Returns the new values and the day's
    events; the caller writes them back. Every person's day depends only on their own
    attributes and on network counts taken at the start of the day, so the order of people
    does not matter.
    """
    status = p["status"]
    abstinent = status == ABSTINENT
    lapsed = status == LAPSED
    relapsed = status == RELAPSED

    stress = stress_next(p["stress"], stress_target, b)
    exposed = abstinent & (u[Draw.EXPOSURE] < exposure_probability(using_contacts, stress, idle, b))
    coped = exposed & (
        u[Draw.COPING] < coping_probability(p["coping"], p["self_efficacy"], p["craving"], b)
    )
    failed = exposed & ~coped
    new_lapse = failed & (
        u[Draw.LAPSE] < lapse_probability(p["outcome_expectancy"], p["craving"], b)
    )

    resolves = lapsed & (u[Draw.RESOLVE] < lapse_resolution_probability(b))
    new_relapse = resolves & (
        u[Draw.RELAPSE] < relapse_probability(p["ave_susceptibility"], p["help_seeking"], b)
    )
    back_to_abstinence = resolves & ~new_relapse
    reentry = relapsed & (u[Draw.REENTRY] < reentry_probability(b))

    self_efficacy = self_efficacy_after_coping(p["self_efficacy"], coped, failed, b)
    self_efficacy = self_efficacy_growth(self_efficacy, abstinent & ~failed, b)
    self_efficacy = self_efficacy * (1.0 - b.lapse_self_efficacy_loss * new_lapse)
    self_efficacy = np.where(reentry, p["self_efficacy_at_discharge"], self_efficacy)
    craving = craving_next(p["craving"], abstinent, exposed, b)
    craving = np.where(reentry, p["craving_at_discharge"], craving)
    expectancy = toward(p["outcome_expectancy"], 1.0, b.lapse_expectancy_gain * new_lapse)

    status = np.where(new_lapse, LAPSED, status)
    status = np.where(new_relapse, RELAPSED, status)
    status = np.where(back_to_abstinence | reentry, ABSTINENT, status)
    days_abstinent = np.where(status == ABSTINENT, p["days_abstinent"] + 1, 0)

    return {
        "status": status,
        "stress": stress,
        "self_efficacy": self_efficacy,
        "craving": craving,
        "outcome_expectancy": expectancy,
        "days_abstinent": days_abstinent,
    }, {
        "exposed": exposed,
        "coped": coped,
        "lapse": new_lapse,
        "relapse": new_relapse,
        "reentry": reentry,
    }


# Learning: what a group meeting or a relapse-prevention training session teaches -------------
@dataclass(frozen=True)
class SkillGains:
    """Shares of the remaining gap (or of the value, for expectancy) gained per unit dose."""

    coping: float
    self_efficacy: float
    expectancy_drop: float
    help_seeking: float


def learn(p: dict[str, Any], dose: Any, gains: SkillGains) -> dict[str, Any]:
    """Relapse-prevention skills learnt at a dose (0 = absent, 1 = one full session).

    Coping, self-efficacy and help-seeking move towards 1; positive outcome expectancy falls.
    Each share is capped at 1, so a large dose cannot overshoot.
    """

    def share(gain: float) -> Any:
        return np.minimum(1.0, gain * dose)

    return {
        "coping": toward(p["coping"], 1.0, share(gains.coping)),
        "self_efficacy": toward(p["self_efficacy"], 1.0, share(gains.self_efficacy)),
        "outcome_expectancy": p["outcome_expectancy"] * (1.0 - share(gains.expectancy_drop)),
        "help_seeking": toward(p["help_seeking"], 1.0, share(gains.help_seeking)),
    }
