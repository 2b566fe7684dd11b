"""kds-sim's 0.2 daily rules as numpy array operations, frozen as they were before the fused
kernel (kds_sim.model.rules.person_day) replaced them.

Two uses: it is what a port of the rules to an array framework looks like (the "starsim_port"
of experiments/benchmark_peers.py runs it inside Starsim), and it is the oracle that
tests/test_ensemble.py holds the kernel to, bit for bit. It is not the rulebook: change the
rules in kds_sim/model/rules.py, and refresh this copy (or drop the oracle test) on purpose.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np

from kds_sim.model.parameters import Behaviour, Population

ABSTINENT, LAPSED, RELAPSED, ABSENT = 0, 1, 2, 3
STATES = {ABSTINENT: "abstinent", LAPSED: "lapsed", RELAPSED: "relapsed", ABSENT: "absent"}
"""ABSENT: not (or no longer) in the population: before discharge, after death or moving away.
No rule acts on an absent person."""

STAYED, DIED, OVERDOSE, MOVED = 0, 1, 2, 3
EXITS = {STAYED: "", DIED: "died", OVERDOSE: "died of overdose", MOVED: "moved away"}


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
def coping_probability(coping, self_efficacy, craving, b: Behaviour, stress=0.0):
    """Chance that coping succeeds: rises with skill and confidence, falls with craving and
    with proximal stress (negative affect, Witkiewitz & Marlatt 2004)."""
    return logistic(
        b.coping_intercept
        + b.coping_weight * coping
        + b.self_efficacy_weight * self_efficacy
        - b.craving_weight * craving
        - b.stress_coping_weight * stress
    )


def self_efficacy_after_coping(self_efficacy, coped, failed, b: Behaviour):
    """Success builds confidence; failure erodes it (coped and failed are 0/1 or booleans)."""
    gained = toward(self_efficacy, 1.0, b.self_efficacy_gain * coped)
    return gained * (1.0 - b.self_efficacy_loss * failed)


# 3. Lapse after failed coping -----------------------------------------------------------------
def expectancy_in_the_moment(outcome_expectancy, craving, b: Behaviour):
    """In a high-risk situation craving pushes the expected pleasure of using up."""
    return toward(outcome_expectancy, 1.0, b.expectancy_craving_share * craving)


def lapse_probability(
    outcome_expectancy, craving, b: Behaviour, self_efficacy=0.0, negative_expectancy=0.0
):
    """Chance of using after coping failed: positive expectancy and craving push; confidence
    and expected harms hold back; positive expectancy weighs most when confidence is low."""
    return logistic(
        b.lapse_intercept
        + b.expectancy_weight * outcome_expectancy
        + b.lapse_craving_weight * craving
        - b.lapse_self_efficacy_weight * self_efficacy
        + b.lapse_interaction_weight * outcome_expectancy * (1.0 - self_efficacy)
        - b.negative_expectancy_weight * negative_expectancy
    )


# 4. Abstinence violation effect ---------------------------------------------------------------
def lapse_resolution_probability(b: Behaviour):
    """Daily chance that an open lapse resolves (into relapse or back to abstinence)."""
    return 1.0 / b.lapse_resolution_days


def relapse_probability(
    ave_susceptibility, help_seeking, b: Behaviour, spell_days=0.0, commitment=0.0
):
    """Chance that a lapse becomes a relapse: the abstinence violation effect pushes, and
    pushes harder after a long abstinent spell and in the committed; help pulls back."""
    spell = 1.0 - np.exp(-spell_days / b.ave_spell_scale_days)
    return logistic(
        b.ave_intercept
        + b.ave_weight * ave_susceptibility
        - b.help_weight * help_seeking
        + ave_susceptibility * (b.ave_spell_weight * spell + b.ave_commitment_weight * commitment)
    )


def learn_from_lapse(coping, recovered, b: Behaviour):
    """A lapse that ends without relapse teaches: coping rises (0/1 `recovered`)."""
    return toward(coping, 1.0, b.lapse_learning_gain * recovered)


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


def remission_probability(b: Behaviour):
    """Daily chance that a relapsed person returns to abstinence without treatment."""
    return 1.0 - np.exp(-b.remission_rate / 365.0)


def exit_probabilities(status, population: Population) -> tuple[Any, Any, Any]:
    """Daily chances of dying, dying of an overdose (while using) and moving away, for people
    present. They compete for one uniform, in this order."""
    present = status != ABSENT
    using = (status == LAPSED) | (status == RELAPSED)
    died = present * (1.0 - np.exp(-population.death_rate / 365.0))
    overdose = using * (1.0 - np.exp(-population.overdose_death_rate / 365.0))
    moved = present * (1.0 - np.exp(-population.move_away_rate / 365.0))
    return died, overdose, moved


def exit_reason(u, status, population: Population):
    """Who leaves the population today, and why (STAYED, DIED, OVERDOSE or MOVED)."""
    died, overdose, moved = exit_probabilities(status, population)
    reason = np.where(u < died, DIED, STAYED)
    reason = np.where((reason == STAYED) & (u < died + overdose), OVERDOSE, reason)
    return np.where((reason == STAYED) & (u < died + overdose + moved), MOVED, reason)


def expectancy_next(outcome_expectancy, abstinent, b: Behaviour):
    """Positive expectancies fade towards their floor with time abstinent."""
    share = abstinent * (1.0 - np.exp(-b.expectancy_decay_per_year / 365.0))
    return toward(outcome_expectancy, b.expectancy_floor, share)


def using_tie_loss_probability(using_ties, coping, abstinent, b: Behaviour):
    """Daily chance that one of a person's ties to active users ends: friends quit or move,
    and abstinent people with coping skill cut them."""
    rate = (b.using_tie_end_rate + b.using_tie_cut_rate * coping * abstinent) * using_ties
    return 1.0 - np.exp(-rate / 365.0)


def leftover(u, asked, probability):
    """The part of a uniform that a first decision left unused, as a fresh uniform.

    Where the first decision was not asked, `u` is untouched. Where it was asked and answered
    no (`u >= probability`), (u - probability) / (1 - probability) is uniform on [0, 1) again.
    Where it answered yes, 1.0 (so a second decision never fires). A second, rarer decision
    can so use the same row without a new row of draws: adding it changes no other number.
    """
    rescaled = (u - probability) / np.maximum(1.0 - probability, 1e-300)
    return np.where(asked, np.where(u < probability, 1.0, rescaled), u)


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
    exposure = exposure_probability(using_contacts, stress, idle, b)
    exposed = abstinent & (u[Draw.EXPOSURE] < exposure)
    coping = coping_probability(p["coping"], p["self_efficacy"], p["craving"], b, stress)
    coped = exposed & (u[Draw.COPING] < coping)
    failed = exposed & ~coped
    expectancy_now = expectancy_in_the_moment(p["outcome_expectancy"], p["craving"], b)
    lapse = lapse_probability(
        expectancy_now, p["craving"], b, p["self_efficacy"], p["negative_expectancy"]
    )
    new_lapse = failed & (u[Draw.LAPSE] < lapse)

    resolves = lapsed & (u[Draw.RESOLVE] < lapse_resolution_probability(b))
    relapse = relapse_probability(
        p["ave_susceptibility"], p["help_seeking"], b, p["spell_at_lapse"], p["commitment"]
    )
    new_relapse = resolves & (u[Draw.RELAPSE] < relapse)
    back_to_abstinence = resolves & ~new_relapse
    reentry_chance = reentry_probability(b)
    reentry = relapsed & (u[Draw.REENTRY] < reentry_chance)
    # competing exits from relapse share one uniform: treatment first, then remission
    remission = relapsed & ~reentry & (u[Draw.REENTRY] < reentry_chance + remission_probability(b))
    present = status != ABSENT
    loss = present * using_tie_loss_probability(p["using_ties"], p["coping"], abstinent, b)
    tie_lost = (p["using_ties"] > 0) & (leftover(u[Draw.EXPOSURE], abstinent, exposure) < loss)

    self_efficacy = self_efficacy_after_coping(p["self_efficacy"], coped, failed, b)
    self_efficacy = self_efficacy_growth(self_efficacy, abstinent & ~failed, b)
    self_efficacy = self_efficacy * (1.0 - b.lapse_self_efficacy_loss * new_lapse)
    self_efficacy = np.where(reentry, p["self_efficacy_at_discharge"], self_efficacy)
    craving = craving_next(p["craving"], abstinent, exposed, b)
    craving = np.where(reentry, p["craving_at_discharge"], craving)
    expectancy = expectancy_next(p["outcome_expectancy"], abstinent & ~exposed, b)
    expectancy = toward(expectancy, 1.0, b.lapse_expectancy_gain * new_lapse)
    coping_skill = learn_from_lapse(p["coping"], back_to_abstinence, b)

    spell_at_lapse = np.where(new_lapse, p["days_abstinent"], p["spell_at_lapse"])
    status = np.where(new_lapse, LAPSED, status)
    status = np.where(new_relapse, RELAPSED, status)
    status = np.where(back_to_abstinence | reentry | remission, ABSTINENT, status)
    days_abstinent = np.where(status == ABSTINENT, p["days_abstinent"] + 1, 0)
    days_using = p["days_using"] + ((status == LAPSED) | (status == RELAPSED))

    return {
        "status": status,
        "stress": stress,
        "coping": coping_skill,
        "self_efficacy": self_efficacy,
        "craving": craving,
        "outcome_expectancy": expectancy,
        "days_abstinent": days_abstinent,
        "spell_at_lapse": spell_at_lapse,
        "days_using": days_using,
        "using_ties": p["using_ties"] - tie_lost,
    }, {
        "exposed": exposed,
        "coped": coped,
        "lapse": new_lapse,
        "relapse": new_relapse,
        "reentry": reentry,
        "remission": remission,
        "recovered": back_to_abstinence,
        "using_tie_lost": tie_lost,
    }
