"""The daily relapse rules (Marlatt & Gordon, as a dynamic system after Witkiewitz & Marlatt 2004).

Each rule is a plain function of attribute values and parameters that works on numpy arrays and
on scalars alike. `person_day` composes them into one person's day with scalar math only; every
engine runs that one definition: compiled by numba into a loop over [replicate x person] arrays
(`advance_people`: the ensemble and vector engines), compiled and called per Mesa agent (agent
engine), or, without numba, as plain Python (slow, same numbers). Random draws are passed in as
uniforms (`u`), never drawn here, which keeps the rules pure and lets scenarios share common
random numbers.

Bit-identity with the earlier numpy formulation rests on the same operation order and on numba's
`exp` and numpy's agreeing (both call the C library's `exp` on x86-64 without AVX-512; numpy's
AVX-512 `exp` may differ in the last bit, which tests/test_ensemble.py would catch).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kds_sim.model import streams
from kds_sim.model.parameters import Behaviour, Population
from kds_sim.model.streams import Draw

__all__ = ["Draw"]

ABSTINENT, LAPSED, RELAPSED, ABSENT, IN_TREATMENT, INCARCERATED = 0, 1, 2, 3, 4, 5
STATES = {
    ABSTINENT: "abstinent",
    LAPSED: "lapsed",
    RELAPSED: "relapsed",
    ABSENT: "absent",
    IN_TREATMENT: "in_treatment",
    INCARCERATED: "incarcerated",
}
"""ABSENT: not (or no longer) in the population: before discharge, after death or moving away.
No rule acts on an absent person. IN_TREATMENT and INCARCERATED (model 0.3) are present but
neither using nor exposed; they occur only when treatment_stay_days > 0 or
incarceration_rate > 0 (both off by default)."""
USING = (LAPSED, RELAPSED)
"""States in which a person uses (lapse or relapse)."""

STAYED, DIED, OVERDOSE, MOVED = 0, 1, 2, 3
EXITS = {STAYED: "", DIED: "died", OVERDOSE: "died of overdose", MOVED: "moved away"}


def logistic(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-x))


def toward(value: Any, target: Any, share: Any) -> Any:
    """Move `value` a `share` of the way to `target` (share 0 to 1)."""
    return value + share * (target - value)


def indicator(flag: Any) -> float:
    """1.0 if `flag` else 0.0: an event as a number, as numpy multiplies booleans."""
    return 1.0 if flag else 0.0


def where(condition: Any, a: Any, b: Any) -> Any:
    """np.where that keeps scalars scalar (compiled: a branch): a rule reads the same both ways."""
    if np.ndim(condition) == 0 and np.ndim(a) == 0 and np.ndim(b) == 0:
        return a if condition else b
    return np.where(condition, a, b)


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
def craving_decay_share(b: Behaviour):
    """Share of the gap to the craving floor that closes in an abstinent day."""
    return 1.0 - np.exp(-1.0 / b.craving_decay_days)


def craving_after(craving, decay, exposed, b: Behaviour):
    """Craving after closing a share `decay` of the gap to its floor, then flaring on exposure."""
    decayed = toward(craving, b.craving_floor, decay)
    return toward(decayed, 1.0, b.exposure_craving_boost * exposed)


def self_efficacy_growth(self_efficacy, abstinent, b: Behaviour):
    """Confidence grows slowly with every abstinent day."""
    return toward(self_efficacy, 1.0, b.self_efficacy_growth * abstinent)


def stress_relax_share(b: Behaviour):
    """Share of the gap to the stress target that closes in a day."""
    return 1.0 - np.exp(-1.0 / b.stress_relax_days)


def reentry_probability(b: Behaviour):
    """Daily chance that a relapsed person re-enters treatment."""
    return 1.0 - np.exp(-b.reentry_rate / 365.0)


def daily_chance(rate_per_year):
    """Daily chance of an event at a rate per year."""
    return 1.0 - np.exp(-rate_per_year / 365.0)


def stay_exit_probability(mean_days):
    """Daily chance that a stay of mean `mean_days` (geometric) ends; 1 at 0 days."""
    return 1.0 / np.maximum(mean_days, 1.0)


def extended(b: Behaviour):
    """1.0 when a model-0.3 rule mechanism that needs its own draws (block 3) is on."""
    on = b.life_event_rate > 0 or b.using_tie_form_rate > 0 or b.incarceration_rate > 0
    return 1.0 if on or b.treatment_stay_days > 0 else 0.0


def remission_probability(b: Behaviour):
    """Daily chance that a relapsed person returns to abstinence without treatment."""
    return 1.0 - np.exp(-b.remission_rate / 365.0)


EXIT_RATES = ("death_rate", "overdose_death_rate", "move_away_rate")
"""The population's exit rates (per year) that exit_probabilities reads."""


def exit_probabilities(status, population: Population | Any) -> tuple[Any, Any, Any]:
    """Daily chances of dying, dying of an overdose (while using) and moving away, for people
    present. They compete for one uniform, in this order. `population` is a Population, or
    any object with the EXIT_RATES as arrays by row ([row, 1] against status [row, person])."""
    present = status != ABSENT
    using = (status == LAPSED) | (status == RELAPSED)
    died = present * (1.0 - np.exp(-population.death_rate / 365.0))
    overdose = using * (1.0 - np.exp(-population.overdose_death_rate / 365.0))
    moved = present * (1.0 - np.exp(-population.move_away_rate / 365.0))
    return died, overdose, moved


def exit_reason(u, status, population: Population | Any):
    """Who leaves the population today, and why (STAYED, DIED, OVERDOSE or MOVED)."""
    died, overdose, moved = exit_probabilities(status, population)
    reason = np.where(u < died, DIED, STAYED)
    reason = np.where((reason == STAYED) & (u < died + overdose), OVERDOSE, reason)
    return np.where((reason == STAYED) & (u < died + overdose + moved), MOVED, reason)


def expectancy_decay_share(b: Behaviour):
    """Share of the gap to the expectancy floor that closes in an abstinent, unexposed day."""
    return 1.0 - np.exp(-b.expectancy_decay_per_year / 365.0)


def expectancy_after(outcome_expectancy, decay, b: Behaviour):
    """Positive expectancy after closing a share `decay` of the gap to its floor."""
    return toward(outcome_expectancy, b.expectancy_floor, decay)


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
    return where(asked, where(u < probability, 1.0, rescaled), u)


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


# One day, one person ---------------------------------------------------------------------------
DERIVED: dict[str, Callable[[Behaviour], Any]] = {
    "stress_relax_share": stress_relax_share,
    "craving_decay_share": craving_decay_share,
    "expectancy_decay_share": expectancy_decay_share,
    "lapse_resolution_probability": lapse_resolution_probability,
    "reentry_probability": reentry_probability,
    "remission_probability": remission_probability,
    "life_event_probability": lambda b: daily_chance(b.life_event_rate),
    "tie_form_probability": lambda b: daily_chance(b.using_tie_form_rate),
    "incarceration_probability": lambda b: daily_chance(b.incarceration_rate),
    "treatment_exit_probability": lambda b: stay_exit_probability(b.treatment_stay_days),
    "release_probability": lambda b: stay_exit_probability(b.incarceration_stay_days),
    "extended": extended,
}
"""Daily shares and chances that depend on the coefficients alone: computed once per row by
`coefficients`, not once per person and day."""


def coefficients(behaviours: Sequence[Behaviour]) -> np.recarray:
    """One record per row: its behaviour coefficients and the `DERIVED` values (what
    `person_day` reads as `k`)."""
    names = list(Behaviour.model_fields)
    k = np.recarray(len(behaviours), dtype=[(n, np.float64) for n in (*names, *DERIVED)])
    for name in names:  # a column at a time (a record's field at a time is slow)
        k[name] = [getattr(b, name) for b in behaviours]
    for name, value in DERIVED.items():
        k[name] = [value(b) for b in behaviours]
    return k


def person_day(
    status,
    stress,
    coping,
    self_efficacy,
    craving,
    outcome_expectancy,
    days_abstinent,
    spell_at_lapse,
    days_using,
    using_ties,
    ave_susceptibility,
    help_seeking,
    commitment,
    negative_expectancy,
    self_efficacy_at_discharge,
    craving_at_discharge,
    contacts,
    idle,
    stress_target,
    u_exposure,
    u_coping,
    u_lapse,
    u_resolve,
    u_relapse,
    u_reentry,
    k,
    using_ties_start=0,
    u_event=1.0,
    u_use_event=1.0,
    u_stay=1.0,
    u_release=1.0,
):
    """One person's day: the new values of `STATE` and the day's `EVENTS`, in their order.

    Reads only this person's start-of-day values, network contacts counted at the start of the
    day and the person's uniforms (one per `Draw` row), so the order of people does not matter.
    `k` is a row of `coefficients`. After it, model 0.3's reads (`LATE_READ`) and uniforms
    (`UNIFORMS[6:]`), with defaults that leave its mechanisms idle (so a 0.2 caller's
    arguments keep their meaning). Scalar math only: numba compiles it as it is.
    """
    abstinent = status == ABSTINENT
    lapsed = status == LAPSED
    relapsed = status == RELAPSED
    present = status != ABSENT
    in_treatment = status == IN_TREATMENT
    jailed = status == INCARCERATED

    stress = toward(stress, stress_target, k.stress_relax_share)
    # model 0.3: a stressful life event (block-3 draws exist only when a 0.3 mechanism is on)
    life_event = present and u_event < k.life_event_probability
    if life_event:
        stress = toward(stress, 1.0, k.life_event_stress)
    exposure = exposure_probability(contacts, stress, idle, k)
    exposed = abstinent and u_exposure < exposure
    coped = exposed and u_coping < coping_probability(coping, self_efficacy, craving, k, stress)
    failed = exposed and not coped
    new_lapse = False
    if failed:
        expectancy_now = expectancy_in_the_moment(outcome_expectancy, craving, k)
        lapse = lapse_probability(expectancy_now, craving, k, self_efficacy, negative_expectancy)
        new_lapse = u_lapse < lapse

    resolves = lapsed and u_resolve < k.lapse_resolution_probability
    new_relapse = False
    if resolves:
        relapse = relapse_probability(
            ave_susceptibility, help_seeking, k, spell_at_lapse, commitment
        )
        new_relapse = u_relapse < relapse
    recovered = resolves and not new_relapse
    reentry = relapsed and u_reentry < k.reentry_probability
    # competing exits from relapse share one uniform: treatment first, then remission
    remission = (
        relapsed and not reentry and u_reentry < k.reentry_probability + k.remission_probability
    )
    # model 0.3: while using, incarceration first, then re-forming a tie, on one uniform
    using = lapsed or relapsed
    incarcerated = using and u_use_event < k.incarceration_probability
    tie_formed = (
        using
        and not incarcerated
        and using_ties < using_ties_start
        and u_use_event < k.incarceration_probability + k.tie_form_probability
    )
    # model 0.3: stays end (treatment: discharge with the reset; prison: release)
    discharged = in_treatment and u_stay < k.treatment_exit_probability
    released = jailed and u_stay < k.release_probability
    released_to_use = released and u_release < k.release_to_use_share
    tie_lost = False
    if using_ties > 0:
        loss = indicator(present) * using_tie_loss_probability(
            using_ties, coping, indicator(abstinent), k
        )
        tie_lost = leftover(u_exposure, abstinent, exposure) < loss

    self_efficacy_new = self_efficacy_after_coping(
        self_efficacy, indicator(coped), indicator(failed), k
    )
    self_efficacy_new = self_efficacy_growth(
        self_efficacy_new, indicator(abstinent and not failed), k
    )
    self_efficacy_new = self_efficacy_new * (
        1.0 - k.lapse_self_efficacy_loss * indicator(new_lapse)
    )
    craving_new = craving_after(
        craving, indicator(abstinent) * k.craving_decay_share, indicator(exposed), k
    )
    if new_lapse:  # model 0.3: use reinstates conditioned craving (0: off)
        craving_new = toward(craving_new, 1.0, k.craving_reinstatement)
    instant = k.treatment_stay_days <= 0.0
    if (reentry and instant) or discharged:
        self_efficacy_new = self_efficacy_at_discharge
        craving_new = craving_at_discharge
    if released:
        craving_new = toward(craving_new, 1.0, k.release_craving_rise)
    expectancy = expectancy_after(
        outcome_expectancy, indicator(abstinent and not exposed) * k.expectancy_decay_share, k
    )
    expectancy = toward(expectancy, 1.0, k.lapse_expectancy_gain * indicator(new_lapse))
    coping_new = learn_from_lapse(coping, indicator(recovered), k)

    if new_lapse:
        spell_at_lapse = days_abstinent
        status = LAPSED
    if new_relapse:
        status = RELAPSED
    if recovered or (reentry and instant) or remission or discharged:
        status = ABSTINENT
    if reentry and not instant:
        status = IN_TREATMENT
    if released:
        status = RELAPSED if released_to_use else ABSTINENT
    if incarcerated:
        status = INCARCERATED
    days_abstinent = days_abstinent + 1 if status == ABSTINENT else 0
    if status in (LAPSED, RELAPSED):
        days_using = days_using + 1
    if tie_lost:
        using_ties = using_ties - 1
    if tie_formed:
        using_ties = using_ties + 1
    return (
        status,
        stress,
        coping_new,
        self_efficacy_new,
        craving_new,
        expectancy,
        days_abstinent,
        spell_at_lapse,
        days_using,
        using_ties,
    ), (
        exposed,
        coped,
        new_lapse,
        new_relapse,
        reentry,
        remission,
        recovered,
        tie_lost,
        life_event,
        tie_formed,
        incarcerated,
        released,
        discharged,
    )


STATE = (
    "status",
    "stress",
    "coping",
    "self_efficacy",
    "craving",
    "outcome_expectancy",
    "days_abstinent",
    "spell_at_lapse",
    "days_using",
    "using_ties",
)
"""The columns `person_day` writes, in the order it returns them."""
TRAITS_READ = (
    "ave_susceptibility",
    "help_seeking",
    "commitment",
    "negative_expectancy",
    "self_efficacy_at_discharge",
    "craving_at_discharge",
)
"""The columns it only reads."""
LATE_READ = ("using_ties_start",)
"""Model 0.3's read-only column, passed after `k` (so 0.2 argument lists keep their order)."""
EVENTS = (
    "exposed",
    "coped",
    "lapse",
    "relapse",
    "reentry",
    "remission",
    "recovered",
    "using_tie_lost",
    "life_event",
    "using_tie_formed",
    "incarcerated",
    "released",
    "discharged",
)
"""The day's events, in the order it returns them (the last five: model 0.3)."""
DTYPES = {"status": np.int8, "days_abstinent": np.int32, "spell_at_lapse": np.int32}
DTYPES |= {"days_using": np.int32, "using_ties": np.int64, "using_ties_start": np.int64}
"""Integer columns (as people.People holds them); the rest are float64."""


# Every person of every row, in place -------------------------------------------------------------
INPUTS = ("contacts", "idle", "stress_target")
"""The day's inputs `person_day` reads after the columns (from the exposure stage)."""
UNIFORMS = (
    "u_exposure",
    "u_coping",
    "u_lapse",
    "u_resolve",
    "u_relapse",
    "u_reentry",
    "u_event",
    "u_use_event",
    "u_stay",
    "u_release",
)
"""Its uniforms, Draw 0-5 and 12-15: block 0 for everyone present, block 1 for the lapsed and
relapsed, block 3 for everyone present only in rows with a model-0.3 mechanism on (so rows
with them off draw, and give, exactly what 0.2 did)."""

_LOOP = """
def _advance_people({columns}, {inputs}, keys, day, k, {events}, {late_columns}, offset=0):
    rows, n = status.shape
    for r in range(rows):
        kr = k[r]
        k0, k1 = keys[r, 0], keys[r, 1]
        for i in range(n):
            s = status[r, i]
            {uniforms} = 1.0  # absent: no rule reads them
            if s != ABSENT:
                {block0} = philox_block(k0, k1, i + offset, day, 0, PERSON)
                if s == LAPSED or s == RELAPSED:
                    {block1}, _, _ = philox_block(k0, k1, i + offset, day, 1, PERSON)
                if kr.extended > 0.0:
                    {block3} = philox_block(k0, k1, i + offset, day, 3, PERSON)
            ({state_out}), ({events_out}) = person_day(
                s, {read}, {uniform_args}, kr, {late}, {late_uniforms}
            )
"""


def _loop_source() -> str:
    """The source of `_advance_people`, written out from STATE, TRAITS_READ, INPUTS, UNIFORMS
    and EVENTS (so the argument lists exist once, as those declarations)."""
    at = "{}[r, i]".format
    return _LOOP.format(
        columns=", ".join((*STATE, *TRAITS_READ)),
        inputs=", ".join(INPUTS),
        events=", ".join(EVENTS),
        uniforms=" = ".join(UNIFORMS),
        block0=", ".join(UNIFORMS[:4]),
        block1=", ".join(UNIFORMS[4:6]),
        block3=", ".join(UNIFORMS[6:10]),
        state_out=", ".join(map(at, STATE)) + ",",
        events_out=", ".join(map(at, EVENTS)) + ",",
        read=", ".join(map(at, (*STATE[1:], *TRAITS_READ, *INPUTS))),
        uniform_args=", ".join(UNIFORMS[:6]),
        late=", ".join(map(at, LATE_READ)),
        late_columns=", ".join(LATE_READ),
        late_uniforms=", ".join(UNIFORMS[6:]),
    )


def _written_loop() -> Callable[..., None]:
    """`_loop_source` as a function, compiled under this file's name: numba caches it beside
    the other kernels, and a change to the declarations (in this file) invalidates the cache."""
    names = {"ABSENT": ABSENT, "LAPSED": LAPSED, "RELAPSED": RELAPSED, "PERSON": streams.PERSON}
    namespace: dict[str, Any] = {"__name__": __name__, "person_day": person_day}
    namespace |= names | {"philox_block": streams.philox_block}
    exec(compile(_loop_source(), __file__, "exec"), namespace)  # noqa: S102 - our own source
    loop: Callable[..., None] = namespace["_advance_people"]
    return loop


_advance_people = _written_loop()
_advance_people.__doc__ = """`person_day` for every [row, person] of the arrays (in the order
of `STATE`, `TRAITS_READ`, `INPUTS`, then keys, day, k and `EVENTS`), drawing each person's
uniforms (streams.Draw) from row r's key `keys[r]` as the rules need them: block 0 for everyone
present, block 1 only for the lapsed and relapsed. Person i of the arrays is person
`i + offset` of its row (a tile of people). k is a record per row. Compiled by numba, or run as
plain Python. Written out by `_loop_source`."""


JITABLE = (
    indicator,
    logistic,
    toward,
    exposure_probability,
    coping_probability,
    self_efficacy_after_coping,
    expectancy_in_the_moment,
    lapse_probability,
    relapse_probability,
    learn_from_lapse,
    craving_after,
    self_efficacy_growth,
    expectancy_after,
    using_tie_loss_probability,
    leftover,
    person_day,
)
"""What the compiled loop calls (registered with numba so the Python functions stay as they are)."""
_KERNELS: dict[str, Any] = {}
_LOCK = threading.Lock()


def kernel(name: str = "loop", compiled: bool = True) -> Any:
    """The compiled "loop" (`_advance_people`) or "person_day", or their plain-Python selves
    without numba (or with compiled=False). numba is imported on first use, and the machine
    code is cached on disk (numba's cache), so start-up stays fast."""
    plain = {"loop": _advance_people, "person_day": person_day}
    if not compiled:
        return plain[name]
    with _LOCK:
        if not _KERNELS:
            try:
                import numba
                from numba.extending import overload, register_jitable
            except ImportError:  # pragma: no cover - numba is a dependency
                _KERNELS.update(plain)
            else:

                @overload(where)
                def _where(condition, a, b):  # scalars only in compiled code
                    return lambda condition, a, b: a if condition else b

                streams.register_compiled()  # philox_block, compiled
                for function in JITABLE:
                    register_jitable(function)
                # numpy's error model: x/0 gives inf as numpy does (and no check per division)
                jit = numba.njit(cache=True, nogil=True, error_model="numpy")
                _KERNELS.update(loop=jit(_advance_people), person_day=jit(person_day))
    return _KERNELS[name]


def advance_people(
    cols: dict[str, np.ndarray],
    contacts: np.ndarray,
    idle: np.ndarray,
    stress_target: np.ndarray,
    keys: np.ndarray,
    day: int,
    k: np.recarray,
    events: dict[str, np.ndarray],
    compiled: bool = True,
) -> None:
    """One day of the rules for [row, person] arrays, written into `cols` and `events` in place.

    `cols` holds the `STATE` and `TRAITS_READ` columns (dtypes as people.People), keys is
    [row, 2] (streams.key_of of each row's replicate), k one `coefficients` record per row.
    """
    kernel("loop", compiled)(
        *(cols[name] for name in (*STATE, *TRAITS_READ)),
        np.asarray(contacts, dtype=np.float64),
        np.asarray(idle, dtype=np.float64),
        np.asarray(stress_target, dtype=np.float64),
        keys,
        day,
        k,
        *(events[name] for name in EVENTS),
        *(cols[name] for name in LATE_READ),
    )


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
