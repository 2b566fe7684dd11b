"""The parameter schema: every knob of the model, with its unit, default and source.

The schema is the single parameter table of kds-sim. `docs/parameters.md` and
`scenarios/base.toml` are generated from it (`kds-sim params`), so the code, the
docs and the scenario files cannot drift apart.
"""

from __future__ import annotations

import math
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

DOMAINS: tuple[str, ...] = (
    "management_membership",
    "leadership",
    "administration_finance",
    "activity_management",
    "external_relations",
    "human_resources",
    "sustainability",
)
"""The seven PEKA capacity domains, in the order of the brief's table."""

PEKA_SOURCE = (
    "PEKA baseline, Cimahi 2019 (brief section 3): mean 2.70, HR capability 2.00, "
    "leadership 3.32 as reported; other domains reconstructed to honour every stated figure"
)


def param(default: Any, unit: str, source: str, doc: str, **constraints: Any) -> Any:
    """A model parameter: default, unit, source and meaning travel together."""
    return Field(
        default, description=doc, json_schema_extra={"unit": unit, "source": source}, **constraints
    )


LABEL_LENGTH = 120
"""Longest name, label or currency a report shows: a figure's axis or a table cell holds it."""
TEXT_LENGTH = 4000
"""Longest description, source or reasoning: a paragraph of the brief, not a document."""


def checked_text(value: str, limit: int, multiline: bool) -> str:
    """User text that a report can show: no NUL or control characters (tab and newline only
    in multi-line text), not only invisible characters, and at most `limit` characters. The
    scenario is refused before any simulation, rather than a report broken after them."""
    if len(value) > limit:
        raise ValueError(f"{len(value)} characters; allowed: at most {limit} characters")
    allowed = "\t\n\r" if multiline else ""
    for position, char in enumerate(value):
        if unicodedata.category(char) == "Cc" and char not in allowed:
            raise ValueError(
                f"control character U+{ord(char):04X} at position {position}; allowed: "
                f"printable text{' (tabs and newlines too)' if multiline else ''}"
            )
    if value and not any(_visible(c) for c in value):
        raise ValueError(
            "only spaces or zero-width characters; allowed: text with a visible character, or empty"
        )
    return value


def _visible(char: str) -> bool:
    """Not whitespace, not a format character (zero-width space, joiners, direction marks)."""
    return not char.isspace() and unicodedata.category(char) not in ("Cf", "Zs", "Zl", "Zp", "Mn")


Label = Annotated[str, AfterValidator(lambda v: checked_text(v, LABEL_LENGTH, multiline=False))]
"""A name, label or currency: one line of visible text."""
Text = Annotated[str, AfterValidator(lambda v: checked_text(v, TEXT_LENGTH, multiline=True))]
"""A description, source or reasoning: a paragraph."""


class Section(BaseModel):
    """Strict: nan/inf, booleans and strings never pass for numbers (TOML allows all three)."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True
    )


class Distribution(Section):
    """A person attribute on a 0-1 scale, drawn from a Beta distribution with this mean and SD."""

    mean: float = Field(gt=0, lt=1, description="mean of the attribute (0-1 scale)")
    sd: float = Field(ge=0, description="standard deviation across people (0-1 scale)")

    @model_validator(mode="after")
    def _sd_possible(self) -> Distribution:
        limit = math.sqrt(self.mean * (1 - self.mean))
        if self.sd >= limit:
            raise ValueError(
                f"sd must be below sqrt(mean*(1-mean)) = {limit:.3f} for a Beta distribution "
                f"with mean {self.mean}"
            )
        return self


def dist(mean: float, sd: float, source: str, doc: str) -> Any:
    return Field(
        default_factory=lambda: Distribution(mean=mean, sd=sd),
        description=doc,
        json_schema_extra={"unit": "0-1 scale (Beta: mean, sd)", "source": source},
    )


class Run(Section):
    horizon_days: int = param(
        365,
        "days",
        "brief section 5: relapse at 12 months and beyond",
        "length of follow-up after discharge from rehab",
        ge=1,
        le=7300,
    )
    replicates: int = param(
        100,
        "runs",
        "assumption: gives a 95 % CI half-width near 0.01 on 12-month relapse at 300 people",
        "independent replicates (each a new cohort and network)",
        ge=2,
        le=100_000,
    )
    seed: int = param(
        20191201,
        "integer",
        "arbitrary; fixed so shipped results reproduce",
        "root seed; replicate seeds are spawned from it",
        ge=0,
    )
    engine: Literal["vector", "agent"] = param(
        "vector",
        "choice",
        "design: both engines run the same rules and give identical results",
        "'vector' steps all people at once with numpy; 'agent' steps each Mesa agent in turn",
    )


class Population(Section):
    size: int = param(
        300,
        "people",
        "assumption: one district's yearly rehab graduates (BNN: about 6,000 a year nationally)",
        "recovering people discharged from rehab at day 0 (the initial cohort)",
        ge=2,
        le=2_000_000,
    )
    discharges_per_month: float = param(
        0.0,
        "people per month",
        "scenario design: BNN 2015 reports about 6,000 people rehabilitated a year nationally; a "
        "district's share is the user's choice",
        "people discharged into the district after day 0, at a steady pace (0: a closed cohort)",
        ge=0,
        le=100_000,
    )
    death_rate: float = param(
        0.01,
        "per year",
        "assumption (model 0.3: mortality in the default cohort): cohorts of people who use "
        "opioids show crude mortality of about 2 per 100 person-years (Degenhardt et al. 2011), "
        "most of it while using; 1 per 100 while abstinent",
        "mortality while abstinent (0: none)",
        ge=0,
        le=1,
    )
    overdose_death_rate: float = param(
        0.03,
        "per year",
        "assumption (model 0.3): overdose risk concentrates in returns to use after abstinence, "
        "when tolerance is lost; 4 per 100 person-years while using in all, about twice "
        "Degenhardt et al. 2011's crude rate, which includes time in treatment",
        "added mortality while lapsed or relapsed (0: none)",
        ge=0,
        le=5,
    )
    move_away_rate: float = param(
        0.0,
        "per year",
        "scenario design",
        "rate of leaving the district; those who leave are followed no further (0: none)",
        ge=0,
        le=5,
    )
    coping: Distribution = dist(
        0.40,
        0.15,
        "assumption: Cimahi assessment found coping weak (brief section 2.2)",
        "coping skill: refusing offers, bringing a third person, distraction",
    )
    self_efficacy: Distribution = dist(
        0.45,
        0.15,
        "assumption: moderate after rehab",
        "confidence in staying abstinent in a high-risk situation",
    )
    outcome_expectancy: Distribution = dist(
        0.55,
        0.15,
        "assumption: members still recall how good using felt (brief section 2.3)",
        "how good using is expected to feel",
    )
    ave_susceptibility: Distribution = dist(
        0.60,
        0.15,
        "assumption: members hide lapses and sink deeper (brief section 2.4)",
        "how strongly a lapse is read as personal failure",
    )
    stress: Distribution = dist(
        0.50,
        0.15,
        "assumption: stigma and poor economic conditions (brief section 1)",
        "baseline negative affect, stigma and economic pressure",
    )
    craving: Distribution = dist(
        0.53,
        0.15,
        "mean fitted (kds-sim calibrate, model 0.3: the early peak), the start of the point fit; "
        "scenarios/calibrated overrides; members still crave (brief section 1)",
        "craving at discharge from rehab",
    )
    idle: Distribution = dist(
        0.50,
        0.20,
        "assumption: few positive activities, unemployment (brief section 1)",
        "share of the day without occupation",
    )
    help_seeking: Distribution = dist(
        0.20,
        0.10,
        "assumption: members try to fix lapses alone (brief section 2.4)",
        "readiness to ask others for help after a lapse",
    )
    engagement: Distribution = dist(
        0.60, 0.20, "assumption", "how readily a member attends group activities"
    )
    negative_expectancy: Distribution = dist(
        0.50,
        0.15,
        "assumption: members know the harms of using (brief section 2.3)",
        "expected harms of using (negative outcome expectancy): protective",
    )
    commitment: Distribution = dist(
        0.50,
        0.15,
        "assumption: commitment to abstinence varies after rehab (brief section 2.3)",
        "commitment to abstinence; a lapse violates it (abstinence violation effect)",
    )


class Network(Section):
    edges_file: str | None = param(
        None,
        "path",
        "user data",
        "edge list (CSV with columns source,target, or GraphML); replaces the generated graph",
    )
    nodes_file: str | None = param(
        None,
        "path",
        "user data",
        "CSV with columns id,role (role: recovering, using, "
        "supportive, stigmatising); needed with a CSV edges_file",
    )
    peer_degree: int = param(
        4,
        "ties per person",
        "assumption: small-world peer group",
        "ties among recovering peers (Watts-Strogatz k, even)",
        ge=0,
        le=100,
    )
    peer_rewiring: float = param(
        0.1,
        "probability",
        "assumption: mostly local, some long ties",
        "Watts-Strogatz rewiring probability",
        ge=0,
        le=1,
    )
    using_ties_mean: float = param(
        2.0,
        "ties per person",
        "assumption: ex-users still live among using friends (brief section 1)",
        "mean number of ties to active using friends",
        ge=0,
        le=50,
    )
    using_ties_dispersion: float = param(
        2.0,
        "negative-binomial size",
        "assumption: a few people have many using friends",
        "smaller = more unequal using-friend ties",
        gt=0,
    )
    people_per_using_friend: float = param(
        1.5,
        "people",
        "assumption: using friends are shared within neighbourhoods",
        "recovering people an active user is tied to, on average (sets the size of the using pool)",
        ge=1,
    )
    community_ties_mean: float = param(
        3.0,
        "ties per person",
        "assumption: family and neighbours",
        "mean community/family ties (Poisson)",
        ge=0,
        le=50,
    )
    stigmatising_share: float = param(
        0.3,
        "share",
        "assumption: community stigma and exclusion (brief section 1)",
        "share of community ties that stigmatise rather than support",
        ge=0,
        le=1,
    )


class Behaviour(Section):
    """Coefficients of the daily Marlatt & Gordon rules (kds_sim.behaviour)."""

    hrs_base_rate: float = param(
        0.01,
        "per day",
        "assumption: negative emotions, conflict, places that recall use",
        "hazard of a high-risk situation without using contacts, stress or idleness",
        ge=0,
    )
    hrs_rate_per_using_tie: float = param(
        0.01,
        "per day per tie",
        "assumption; direction from Stout et al. 2012 (pro-using ties predict relapse)",
        "added hazard per using friend or relapsed peer",
        ge=0,
    )
    hrs_stress_rate: float = param(
        0.01,
        "per day at stress 1",
        "assumption: life pressure (brief section 2.1)",
        "added hazard from stress",
        ge=0,
    )
    hrs_idle_rate: float = param(
        0.01,
        "per day at idle 1",
        "assumption: idle time (brief section 2.1)",
        "added hazard from idle time",
        ge=0,
    )
    coping_intercept: float = param(
        -0.5,
        "log-odds",
        "assumption",
        "log-odds that coping succeeds for a person with zero skill, confidence, craving",
    )
    coping_weight: float = param(
        2.5,
        "log-odds per unit",
        "assumption: Marlatt & Gordon",
        "effect of coping skill on coping success",
    )
    self_efficacy_weight: float = param(
        1.5,
        "log-odds per unit",
        "assumption: Marlatt & Gordon",
        "effect of self-efficacy on coping success",
    )
    craving_weight: float = param(
        2.0,
        "log-odds per unit",
        "assumption: Witkiewitz & Marlatt 2004",
        "effect of craving against coping success",
    )
    lapse_intercept: float = param(
        -6.55,
        "log-odds",
        "fitted (kds-sim calibrate, model 0.3): 12-month "
        "relapse 0.40 (BNN 2015); scenarios/calibrated overrides",
        "log-odds of a lapse after failed coping at zero outcome expectancy",
    )
    expectancy_weight: float = param(
        2.5,
        "log-odds per unit",
        "assumption: positive outcome expectancies drive lapses (Marlatt & Gordon)",
        "effect of outcome expectancy on lapse after failed coping",
    )
    lapse_craving_weight: float = param(
        8.0,
        "log-odds per unit",
        "assumption: craving drives use once coping has failed (Witkiewitz & Marlatt 2004)",
        "effect of craving on lapse after failed coping",
    )
    ave_intercept: float = param(
        -1.8,
        "log-odds",
        "fitted (kds-sim calibrate, model 0.3): the start of the point fit; "
        "scenarios/calibrated overrides; "
        "assumption: most early lapses become relapses (brief section 6)",
        "log-odds that a lapse becomes a relapse at zero AVE susceptibility and help-seeking",
    )
    ave_weight: float = param(
        3.0,
        "log-odds per unit",
        "assumption: abstinence violation effect (Marlatt & Gordon)",
        "effect of AVE susceptibility",
    )
    help_weight: float = param(
        3.0,
        "log-odds per unit",
        "assumption: help after a lapse matters (brief section 2.4)",
        "effect of help-seeking against relapse after a lapse",
    )
    lapse_resolution_days: float = param(
        3.0,
        "days",
        "assumption",
        "mean days a lapse stays unresolved before it ends in relapse or abstinence",
        ge=1,
    )
    self_efficacy_gain: float = param(
        0.03,
        "share of gap",
        "assumption: successful coping raises self-efficacy (Marlatt & Gordon)",
        "self-efficacy gain after coping succeeds",
        ge=0,
        le=1,
    )
    self_efficacy_loss: float = param(
        0.05,
        "share",
        "assumption: failed coping lowers self-efficacy",
        "self-efficacy loss after coping fails",
        ge=0,
        le=1,
    )
    lapse_self_efficacy_loss: float = param(
        0.2,
        "share",
        "assumption: AVE erodes confidence",
        "self-efficacy loss after a lapse",
        ge=0,
        le=1,
    )
    lapse_expectancy_gain: float = param(
        0.1,
        "share of gap",
        "assumption: a lapse reinforces positive expectancies",
        "outcome-expectancy gain after a lapse",
        ge=0,
        le=1,
    )
    self_efficacy_growth: float = param(
        0.0038,
        "share of gap per day",
        "fitted (kds-sim calibrate, model 0.3): the start of the point fit; "
        "scenarios/calibrated overrides; "
        "assumption: confidence grows with time abstinent",
        "daily self-efficacy growth while abstinent",
        ge=0,
        le=1,
    )
    craving_decay_days: float = param(
        66.0,
        "days",
        "fitted (kds-sim calibrate, model 0.3): shape of the first year; scenarios/calibrated "
        "overrides",
        "time constant of craving decay while abstinent",
        gt=0,
    )
    craving_floor: float = param(
        0.44,
        "0-1 scale",
        "fitted (kds-sim calibrate, model 0.3: the late hazard): the start of the point fit; "
        "scenarios/calibrated overrides; conditioned cue reactivity extinguishes slowly and "
        "incompletely (Bouton 2002)",
        "craving after long abstinence",
        ge=0,
        le=1,
    )
    exposure_craving_boost: float = param(
        0.02,
        "share of gap",
        "assumption, about the 0.1 fit to the 5-year cohort reading (0.0203); cue "
        "reactivity keeps late risk up, and no 0.2 target pins the long run",
        "craving rise after a high-risk situation",
        ge=0,
        le=1,
    )
    stress_relax_days: float = param(
        30.0,
        "days",
        "assumption",
        "time constant with which stress returns to its distal baseline",
        gt=0,
    )
    stigma_stress_per_tie: float = param(
        0.05,
        "per tie",
        "assumption: stigma is a stressor (brief section 1)",
        "baseline stress added per stigmatising tie",
        ge=0,
        le=1,
    )
    support_stress_per_tie: float = param(
        0.03,
        "per tie",
        "assumption: network support (Litt et al. 2009)",
        "baseline stress removed per supportive tie",
        ge=0,
        le=1,
    )
    support_help_per_tie: float = param(
        0.05,
        "per tie",
        "assumption: network support (Litt et al. 2009)",
        "help-seeking added per supportive tie",
        ge=0,
        le=1,
    )
    reentry_rate: float = param(
        0.5,
        "per year",
        "assumption: about half re-enter treatment within a year of relapse",
        "rate at which relapsed people re-enter treatment and start a new abstinence spell",
        ge=0,
    )
    # Model fidelity (Witkiewitz & Marlatt 2004; Marlatt & Donovan 2005), added in 0.2. Each
    # mechanism is off at zero, which gives back the 0.1 model exactly.
    stress_coping_weight: float = param(
        1.0,
        "log-odds per unit",
        "assumption; direction from Witkiewitz & Marlatt 2004 (negative affect is the most "
        "common proximal precipitant of relapse)",
        "effect of proximal stress against coping success (0: off)",
    )
    lapse_self_efficacy_weight: float = param(
        1.5,
        "log-odds per unit",
        "assumption; direction from Marlatt & Gordon (low self-efficacy after failed coping "
        "makes the lapse likely)",
        "effect of self-efficacy against a lapse after failed coping (0: off)",
    )
    lapse_interaction_weight: float = param(
        2.0,
        "log-odds per unit",
        "assumption; Witkiewitz & Marlatt 2004: the lapse follows from low self-efficacy "
        "together with positive expectancy",
        "extra lapse log-odds for outcome expectancy x (1 - self-efficacy) (0: off)",
    )
    negative_expectancy_weight: float = param(
        1.0,
        "log-odds per unit",
        "assumption; Marlatt & Donovan 2005 (expected harms protect)",
        "effect of negative outcome expectancy against a lapse (0: off)",
    )
    expectancy_craving_share: float = param(
        0.3,
        "share of gap at craving 1",
        "assumption; Witkiewitz & Marlatt 2004 (expectancies rise with craving in a high-risk "
        "situation)",
        "how far craving pushes outcome expectancy towards 1 in the moment of a lapse decision "
        "(0: off)",
        ge=0,
        le=1,
    )
    expectancy_decay_per_year: float = param(
        0.1,
        "per year",
        "fitted (kds-sim calibrate, model 0.3): the start of the point fit; "
        "scenarios/calibrated overrides; "
        "assumption: positive expectancies fade with time abstinent (Marlatt & Donovan 2005)",
        "rate at which outcome expectancy falls towards expectancy_floor while abstinent (0: off)",
        ge=0,
    )
    expectancy_floor: float = param(
        0.2,
        "0-1 scale",
        "assumption: memories of how good using felt never vanish",
        "outcome expectancy after very long abstinence",
        ge=0,
        le=1,
    )
    ave_spell_weight: float = param(
        1.0,
        "log-odds per unit AVE",
        "assumption; Marlatt & Gordon: the abstinence violation effect is stronger after a "
        "long abstinent spell",
        "extra relapse log-odds per unit AVE susceptibility after a long spell (0: off)",
    )
    ave_spell_scale_days: float = param(
        180.0,
        "days",
        "assumption",
        "abstinent spell at which the spell effect reaches 63 % of its full size",
        gt=0,
    )
    ave_commitment_weight: float = param(
        1.0,
        "log-odds per unit AVE x commitment",
        "assumption; Marlatt & Gordon: the violation is felt more by the more committed",
        "extra relapse log-odds for AVE susceptibility x commitment (0: off)",
    )
    lapse_learning_gain: float = param(
        0.05,
        "share of gap",
        "assumption; Marlatt & Gordon: a lapse handled well is a learning experience",
        "coping gained when a lapse ends without relapse (0: off)",
        ge=0,
        le=1,
    )
    remission_rate: float = param(
        0.2,
        "per year",
        "assumption; Pickens et al. 1985 (many who relapse return to abstinence)",
        "rate at which relapsed people return to abstinence without treatment (0: off)",
        ge=0,
    )
    using_tie_end_rate: float = param(
        0.1,
        "per tie per year",
        "assumption: using friends quit, move or are dropped",
        "rate at which a tie to an active user ends on its own (0: off)",
        ge=0,
    )
    using_tie_cut_rate: float = param(
        0.5,
        "per tie per year at coping 1",
        "assumption; Litt et al. 2009 (changing the network supports abstinence)",
        "rate at which an abstinent person cuts a tie to a user, times coping skill (0: off)",
        ge=0,
    )
    # Model 0.3 (issue 21): late risk and cycling. Each mechanism is on at its default (the
    # median of its prior, kds_sim.model.priors.MODEL_0_3_PRIORS, unless the calibration fits
    # it); each is off at 0 (treatment_stay_days: 0 is the 0.2 model's instant re-entry).
    craving_reinstatement: float = param(
        0.4,
        "share of gap to 1",
        "model 0.3: prior median (uniform 0-0.8); "
        "assumption: conditioned cue reactivity is reinstated by use (reinstatement, Bouton "
        "2002; Witkiewitz & Marlatt 2004); 0 = 0.2 model",
        "share of the gap to full craving that a lapse restores (0: off)",
        ge=0,
        le=1,
    )
    life_event_rate: float = param(
        5.5,
        "per year",
        "fitted (kds-sim calibrate, model 0.3): the start of the point fit; "
        "assumption: stressful life events (job loss, bereavement, conflict, arrest of a "
        "friend) happen a few times a year and precede relapse (Brown et al. 1990); 0 = off",
        "rate of stressful life events for a person present (0: off)",
        ge=0,
    )
    life_event_stress: float = param(
        0.5,
        "share of gap to 1",
        "model 0.3: prior median (uniform 0.1-0.9); "
        "assumption: an event moves proximal stress this share of the way to 1; it then "
        "relaxes with stress_relax_days",
        "stress added by a life event (0: off)",
        ge=0,
        le=1,
    )
    using_tie_form_rate: float = param(
        2.0,
        "per year while using",
        "model 0.3: prior median (log-uniform 0.5-8); "
        "assumption: people who use again return to using friends (Stout et al. 2012); capped "
        "at the person's ties at discharge",
        "rate at which a lapsed or relapsed person re-forms a tie to a user (0: off)",
        ge=0,
    )
    treatment_stay_days: float = param(
        97.0,
        "days",
        "model 0.3: prior median (uniform 14-180); "
        "assumption: re-entry is a stay, not an instant (Scott, Dennis & Foss 2005 count "
        "treatment as a state); 0 = 0.2 model (re-entry returns to abstinence the same day)",
        "mean stay in treatment after re-entry, ended by discharge with the discharge reset",
        ge=0,
    )
    incarceration_rate: float = param(
        0.22,
        "per year while using",
        "model 0.3: prior median (log-uniform 0.05-1); "
        "assumption: arrest of people who use is common in Indonesia (Law 35/2009 penalises "
        "use; Scott, Dennis & Foss 2005 count incarceration as a state); 0 = off",
        "rate at which a lapsed or relapsed person is incarcerated (0: off)",
        ge=0,
    )
    incarceration_stay_days: float = param(
        148.0,
        "days",
        "model 0.3: prior median (log-uniform 30-730); "
        "assumption: sentences for use of months to a few years, many shorter by "
        "rehabilitation orders; read only when incarceration_rate > 0",
        "mean stay in prison",
        gt=0,
    )
    release_to_use_share: float = param(
        0.5,
        "probability",
        "assumption: about half resume use soon after release (a high-risk period, Merrall "
        "et al. 2010); read only when incarceration_rate > 0",
        "chance that release is straight back to use (relapsed) rather than to abstinence",
        ge=0,
        le=1,
    )
    release_craving_rise: float = param(
        0.3,
        "share of gap to 1",
        "assumption: return to the old environment reinstates cue reactivity; read only "
        "when incarceration_rate > 0",
        "share of the gap to full craving restored on release",
        ge=0,
        le=1,
    )


class Capacity(Section):
    """PEKA scores, 1 (poor) to 4 (good)."""

    management_membership: float = param(
        2.86,
        "PEKA 1-4",
        PEKA_SOURCE,
        "management & membership (kepengurusan & keanggotaan)",
        ge=1,
        le=4,
    )
    leadership: float = param(
        3.32, "PEKA 1-4", PEKA_SOURCE, "leadership (kepemimpinan)", ge=1, le=4
    )
    administration_finance: float = param(
        2.80,
        "PEKA 1-4",
        PEKA_SOURCE,
        "administration & finance (administrasi & keuangan)",
        ge=1,
        le=4,
    )
    activity_management: float = param(
        2.80, "PEKA 1-4", PEKA_SOURCE, "activity management (pengelolaan kegiatan)", ge=1, le=4
    )
    external_relations: float = param(
        2.76, "PEKA 1-4", PEKA_SOURCE, "external relations (hubungan dengan pihak luar)", ge=1, le=4
    )
    human_resources: float = param(
        2.00, "PEKA 1-4", PEKA_SOURCE, "human-resource capability (kemampuan SDM)", ge=1, le=4
    )
    sustainability: float = param(
        2.36, "PEKA 1-4", PEKA_SOURCE, "sustainability (keberlanjutan)", ge=1, le=4
    )


class Group(Section):
    """The peer support group (KDS) and how its capacity turns into effects (kds_sim.group)."""

    enabled: bool = param(False, "switch", "scenario design", "whether a KDS exists")
    coverage: float = param(
        0.5,
        "share",
        "assumption: the Cimahi group reached part of the district's ex-users",
        "share of recovering people who are members",
        ge=0,
        le=1,
    )
    recruitment: Literal["random", "most_using_ties", "most_engaged"] = param(
        "random",
        "choice",
        "scenario design",
        "who the members are: a random share, those "
        "with the most using-friend ties, or the most engaged (self-selection)",
    )
    capacity: Capacity = Field(default_factory=Capacity, description="PEKA domain scores")
    meetings_per_month_min: float = param(
        1.0,
        "per month",
        "assumption: members rarely manage to meet (brief section 3)",
        "meetings planned at activity management 1",
        ge=0,
    )
    meetings_per_month_max: float = param(
        4.0,
        "per month",
        "assumption: weekly meetings",
        "meetings planned at activity management 4",
        ge=0,
    )
    meeting_held_min: float = param(
        0.15,
        "probability",
        "assumption: weak organisation and no funding source (brief section 3); 0.15 is the "
        "0.2 model's chance at score 1 (0.3 held at management & membership 1 x 0.5 funded at "
        "administration & finance 1), merged into one channel in 0.3",
        "chance a planned meeting is held (organised and funded) at administration & finance 1 "
        "(1.0 at 4)",
        ge=0,
        le=1,
    )
    attendance_min: float = param(
        0.4,
        "probability",
        "assumption",
        "attendance of a fully engaged member at leadership 1",
        ge=0,
        le=1,
    )
    attendance_max: float = param(
        0.9,
        "probability",
        "assumption",
        "attendance of a fully engaged member at leadership 4",
        ge=0,
        le=1,
    )
    dropout_per_month_min: float = param(
        0.02,
        "per month",
        "assumption",
        "membership dropout at management & membership 4",
        ge=0,
        le=1,
    )
    dropout_per_month_max: float = param(
        0.10,
        "per month",
        "assumption: low motivation (brief section 3)",
        "membership dropout at management & membership 1",
        ge=0,
        le=1,
    )
    coping_gain: float = param(
        0.025,
        "share of gap per meeting",
        "assumption, kept from the 0.1 fit to the Cochrane abstinence RR 1.21 (Kelly et al. "
        "2020); since 0.2 that review only bounds the group's effect (members' RR must lie in "
        "its 95 % CI, checked in docs/validation.md); scaled by HR capability",
        "coping gained by attending a meeting",
        ge=0,
        le=1,
    )
    self_efficacy_gain: float = param(
        0.03,
        "share of gap per meeting",
        "assumption; scaled by HR capability",
        "self-efficacy gained per meeting",
        ge=0,
        le=1,
    )
    expectancy_drop: float = param(
        0.03,
        "share per meeting",
        "assumption; scaled by HR capability",
        "outcome-expectancy drop per meeting",
        ge=0,
        le=1,
    )
    help_seeking_gain: float = param(
        0.05,
        "share of gap per meeting",
        "assumption: members learn help matters after a lapse; scaled by HR capability",
        "help-seeking gained per meeting",
        ge=0,
        le=1,
    )
    stress_relief: float = param(
        0.10,
        "share per meeting",
        "assumption: peer support",
        "stress relieved by attending a meeting",
        ge=0,
        le=1,
    )
    befriend_per_meeting: float = param(
        0.02,
        "ties per meeting attended",
        "assumption; Litt et al. 2009 (adding abstinent people to the network raises abstinence)",
        "chance that attending a meeting adds an abstinent, supportive tie (0: off)",
        ge=0,
        le=1,
    )
    transfer_floor: float = param(
        0.2,
        "share",
        "assumption: even a weak group passes on some skill",
        "skill transfer at HR capability 1 (1.0 at 4)",
        ge=0,
        le=1,
    )
    idle_reduction_max: float = param(
        0.3,
        "share",
        "assumption: jobs and skills training through partners",
        "members' idle time removed at external relations 4 (none at 1)",
        ge=0,
        le=1,
    )
    stress_reduction_max: float = param(
        0.15,
        "share",
        "assumption: links to BNN and health services",
        "members' baseline stress removed at external relations 4 (none at 1)",
        ge=0,
        le=1,
    )
    # Model 0.3 (issue 21): state-dependent membership, on at the priors' medians. Off values
    # (ratios 1, rates and weights 0) give back the 0.2 model.
    relapsed_attendance_ratio: float = param(
        0.6,
        "ratio",
        "model 0.3: prior median (uniform 0.2-1); "
        "assumption: members who relapse attend less (issue 21: in 0.2 they attend 0.92 as "
        "many meetings; Kelly et al. 2020 attendance falls with use); 1 = 0.2 model",
        "attendance of a relapsed (or lapsed) member relative to an abstinent one",
        ge=0,
        le=1,
    )
    relapsed_dropout_ratio: float = param(
        2.24,
        "ratio",
        "model 0.3: prior median (log-uniform 1-5); "
        "assumption: relapse is a main reason to leave a mutual-help group; 1 = 0.2 model",
        "dropout of a relapsed member relative to an abstinent one",
        ge=0,
    )
    rejoin_per_month: float = param(
        0.05,
        "per month",
        "model 0.3: prior median (uniform 0-0.1); "
        "assumption: people come back to groups after relapse and recovery; 0 = off",
        "daily chance x 30 that a former member, abstinent again, rejoins (0: off)",
        ge=0,
        le=1,
    )
    join_engagement_weight: float = param(
        0.5,
        "share",
        "model 0.3: prior median (uniform 0-1); "
        "assumption: the more engaged are likelier to join a mutual-help group (self-selection, "
        "Kelly et al. 2020 note it in every observational study); 0 = 0.2 model",
        "how far joining at random recruitment favours the engaged: a person's chance is "
        "weighted by (1 - w) + w x engagement / mean engagement (0: off)",
        ge=0,
        le=1,
    )
    partner_attendance_scaling: float = param(
        1.0,
        "share",
        "model 0.3: issue 21's fix, held fixed; "
        "assumption: partners' help (jobs, BNN, health links) reaches members who take part; "
        "0 = 0.2 model (every member every day), 1 = scaled by the member's attendance chance",
        "how far the partner channel scales with the member's chance to attend",
        ge=0,
        le=1,
    )
    erosion_floor: float = param(
        1.5,
        "PEKA 1-4",
        "assumption: a group left alone keeps some structure",
        "score each domain erodes towards",
        ge=1,
        le=4,
    )
    erosion_half_life_min: float = param(
        365.0,
        "days",
        "assumption: the paper warns capacity erodes without mentoring",
        "half-life of capacity above the floor at sustainability 1",
        gt=0,
    )
    erosion_half_life_max: float = param(
        1825.0,
        "days",
        "assumption",
        "half-life of capacity above the floor at sustainability 4",
        gt=0,
    )
    stop_threshold: float = param(
        1.75,
        "PEKA 1-4",
        "assumption",
        "the group stops meeting for good when its mean capacity falls below this",
        ge=1,
        le=4,
    )


MIN_MAX_PAIRS = ("meetings_per_month", "attendance", "dropout_per_month", "erosion_half_life")
"""Group settings given as a _min/_max pair; a swapped pair would invert the capacity scale."""

_ONE_CHANNEL = "each PEKA domain acts through one channel (docs/model.md)"
_CAPACITY_ONLY = (
    "relapse-prevention training acts only through the human-resources score since model 0.3 "
    "(intervention_effects.relapse_prevention_training.domain_gain)"
)
REMOVED_KEYS: dict[str, str] = {
    "group.quality_floor": f"removed in model 0.3: {_ONE_CHANNEL}; activity management sets "
    "only the meetings planned",
    "group.funded_min": f"merged into group.meeting_held_min in model 0.3: {_ONE_CHANNEL}; "
    "administration & finance decides whether a planned meeting is held",
    **{
        f"intervention_effects.relapse_prevention_training.{name}": f"removed: {_CAPACITY_ONLY}"
        for name in ("coping_gain", "self_efficacy_gain", "expectancy_drop", "help_seeking_gain")
    },
    "interventions.participation": f"removed: no registered kind reads it; {_CAPACITY_ONLY}",
}
"""Keys of earlier model versions and why they went, so an old scenario file's error says so
(list indices are left out of the key: interventions[2].participation is looked up as
interventions.participation)."""


MAX_UNIT_COST = 1e12
"""Largest unit cost accepted: above any real price in any currency (a trillion rupiah is
about 60 million US dollars), and far enough from the float limit that totals over people,
months and draws stay finite."""


class Costs(Section):
    """Unit costs of a strategy's resources, where the user has them (docs/uncertainty.md).

    Left empty, nothing about cost is computed or printed. The shipped template marks every
    value as an illustrative placeholder with no source.
    """

    currency: Label = param("", "text", "user", "currency of every cost, e.g. IDR")
    year: int | None = param(None, "year", "user", "price year of the costs", ge=1900, le=2100)
    per_training_session: float | None = param(
        None,
        "currency per session",
        "user",
        "one session of any training kind",
        ge=0,
        le=MAX_UNIT_COST,
    )
    per_mentoring_month: float | None = param(
        None,
        "currency per month",
        "user",
        "one month of mentoring",
        ge=0,
        le=MAX_UNIT_COST,
    )
    per_group_meeting: float | None = param(
        None,
        "currency per meeting",
        "user",
        "one group meeting held",
        ge=0,
        le=MAX_UNIT_COST,
    )
    per_member: float | None = param(
        None,
        "currency per person",
        "user",
        "each person who is a member at any time",
        ge=0,
        le=MAX_UNIT_COST,
    )
    illustrative: bool = param(
        False,
        "switch",
        "user",
        "true when the values are placeholders with no source: every cost output says so",
    )
    source: Text = param("", "text", "user", "where the unit costs come from")

    @property
    def given(self) -> bool:
        return any(
            v is not None
            for v in (
                self.per_training_session,
                self.per_mentoring_month,
                self.per_group_meeting,
                self.per_member,
            )
        )


class Outputs(Section):
    figures: bool = param(True, "switch", "design", "write PNG figures")
    parquet: bool = param(True, "switch", "design", "write Parquet copies of the CSV tables")
    person_table: bool = param(True, "switch", "design", "write the per-person event table")


MODEL_0_2: dict[str, float] = {
    "behaviour.craving_reinstatement": 0.0,
    "behaviour.life_event_rate": 0.0,
    "behaviour.life_event_stress": 0.0,
    "behaviour.using_tie_form_rate": 0.0,
    "behaviour.treatment_stay_days": 0.0,
    "behaviour.incarceration_rate": 0.0,
    "group.relapsed_attendance_ratio": 1.0,
    "group.relapsed_dropout_ratio": 1.0,
    "group.rejoin_per_month": 0.0,
    "group.partner_attendance_scaling": 0.0,
    "group.join_engagement_weight": 0.0,
    "population.death_rate": 0.0,
    "population.overdose_death_rate": 0.0,
}
"""Model 0.3's mechanisms and default mortality switched off (dotted keys, for
`Scenario.updated`): the 0.2 model's rules, bit for bit (tests/kernel_cases.py keeps its
tables). The 0.2 calibration's values are not included: this switches mechanisms, it does not
restore the 0.2 fit."""
