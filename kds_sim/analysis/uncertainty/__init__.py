"""Parameter uncertainty in policy answers: probabilistic sensitivity analysis over draws.

Every strategy runs R replicates at every draw (`planning`), through the evaluation core;
all strategies share each draw's parameters and random numbers (replicate i of draw d starts
from SeedSequence(seed, spawn_key=(d * DRAW_STRIDE + i,))), so contrasts are paired within a
draw. What the draws say is in `statistics` (intervals, probabilities, variance shares) and
`costs` (cost-effectiveness).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from kds_sim.analysis import costs as cost_model
from kds_sim.analysis import estimate, evaluation, metrics
from kds_sim.analysis.backend import Backend
from kds_sim.analysis.store import Store
from kds_sim.analysis.store import cache as store_cache
from kds_sim.analysis.uncertainty.planning import (
    POSTERIOR,
    PRIOR,
    SURVIVAL_EVERY,
    DrawPlan,
    at_draw,
    plan_draws,
    read_posterior,
    scenario_priors,
    uncertainty_interval,
)
from kds_sim.analysis.uncertainty.statistics import (
    UncertaintyResult,
    between_groups,
    first_order,
    noise_floor,
)
from kds_sim.errors import InputError
from kds_sim.model.scenario import Scenario

__all__ = [
    "DRAW_STRIDE",
    "POSTERIOR",
    "PRIOR",
    "SURVIVAL_EVERY",
    "DrawPlan",
    "UncertaintyResult",
    "at_draw",
    "between_groups",
    "first_order",
    "noise_floor",
    "plan_draws",
    "read_posterior",
    "run_uncertainty",
    "scenario_priors",
    "uncertainty_interval",
]

DRAW_STRIDE = 1_000_000
"""Replicate r of draw d runs from SeedSequence(seed, spawn_key=(d * DRAW_STRIDE + r,)):
draws are independent, strategies within a draw share random numbers, and draw 0 uses the
seeds of a plain run."""


def run_uncertainty(
    scenarios: Sequence[Scenario],
    reference: str | None = None,
    source: str | Path | None = PRIOR,
    draws: int = 200,
    replicates: int = 20,
    seed: int | None = None,
    metric_names: Sequence[str] | None = None,
    workers: int = 1,
    progress: bool = True,
    cache_dir: str | Path | None = None,
    scheduler: str | None = None,
    dask_local: int | None = None,
    backend: Backend | None = None,
) -> UncertaintyResult:
    """Run every strategy at D shared parameter draws with R replicates each.

    With `cache_dir`, finished draws are kept in a store there, named by a digest of every
    input, and reused when the same job is started again (a killed job resumes without losing
    or repeating a draw; a job with any other input never reads them).
    """
    loaded = list(scenarios)
    names = [s.name for s in loaded]
    if len(set(names)) != len(names):
        raise InputError(f"scenario names must be unique; got {names}")
    reference = reference or names[0]
    if reference not in names:
        raise InputError(f"reference = {reference!r}: allowed: one of {', '.join(names)}")
    if replicates < 1:
        raise InputError(f"replicates = {replicates}: allowed: 1 or more")
    backend = backend or Backend(workers, scheduler, dask_local)
    backend.check()
    ref = loaded[names.index(reference)]
    seed = ref.run.seed if seed is None else seed
    horizon = ref.run.horizon_days
    if metric_names is None and len(loaded) > 1 and horizon < 365:
        raise InputError(
            f"horizon = {horizon} days: an uncertainty comparison reports relapses averted by "
            "12 months (averted_per_100_365d) and what follows from it; allowed: a horizon of "
            "at least 365 days, or metric_names of at most the horizon"
        )
    if metric_names is None:
        metric_names = (
            metrics.comparison_metrics(horizon, with_abstinence=horizon >= 365)
            if len(loaded) > 1
            else [m for m in metrics.RUN_HEADLINE if metrics.get(m).days <= horizon]
        )
    names_list = list(metric_names)
    currency = cost_model.currency(loaded) if len(loaded) > 1 else None
    if currency is not None or len(loaded) > 1:  # costs, and results per 100 members
        names_list += [m for m in cost_model.COUNTED if m not in names_list]
    columns = evaluation.needed_columns(names_list, horizon)
    people = max(s.population.size for s in loaded)
    estimate.check(
        estimate.estimate(
            draws * len(loaded) * replicates,
            people,
            horizon,
            len(columns) + 2 * (horizon // SURVIVAL_EVERY + 1) // replicates,
            planned_values=draws * (len(scenario_priors(ref)) + 1),
        ),
        f"uncertainty analysis of draws = {draws} x {len(loaded)} strategies x "
        f"replicates = {replicates}",
        Path(cache_dir) if cache_dir else None,
        backend.parallelism,
    )
    plan = plan_draws(loaded, ref, source, draws, seed)
    aligned = [s.updated({"run.horizon_days": horizon}) for s in loaded]
    changes = [
        {k: float(v) for k, v in zip(plan.keys, row, strict=True)}
        for row in plan.draws[plan.keys].itertuples(index=False, name=None)
    ]
    job = evaluation.Plan(
        aligned,
        changes,
        replicates,
        seed,
        columns,
        reference,
        stride=DRAW_STRIDE,
        survival_every=SURVIVAL_EVERY,
    )
    store = _cache(cache_dir, job, plan) if cache_dir else None
    started = time.perf_counter()
    try:
        done = evaluation.evaluate(job, backend, store, progress, label="draws")
    finally:
        if store is not None:
            store.close()
    elapsed = time.perf_counter() - started
    summary = evaluation.summarise(done.results, names_list, reference)
    order = {n: i for i, n in enumerate(names)}
    summary = summary.sort_values(
        ["point", "strategy"],
        key=lambda c: c.map(order) if c.name == "strategy" else c,
        kind="stable",
    )
    values = summary.rename(columns={"point": "draw", "mean": "value"})[
        ["draw", "strategy", "metric", "value", "replicate_sd"]
    ].reset_index(drop=True)
    assert done.curves is not None
    curves = done.curves.rename(columns={"point": "draw"})
    curves = curves.sort_values(
        ["draw", "strategy", "day"],
        key=lambda c: c.map(order) if c.name == "strategy" else c,
        kind="stable",
    ).reset_index(drop=True)
    return UncertaintyResult(
        plan,
        values,
        curves,
        reference,
        replicates,
        seed,
        timing={
            "draws_run": done.computed // job.runs_per_point,
            "seconds": elapsed,
            "executor": done.backend,
        },
        costs=cost_model.cost_table(aligned, values) if currency is not None else None,
        currency=currency,
        illustrative_costs=any(s.costs.illustrative for s in loaded if s.costs.given),
        cohort=float(people),
    )


def _cache(cache_dir: str | Path, job: evaluation.Plan, plan: DrawPlan) -> Store:
    """The store of this exact job (named by a digest of every input); a damaged one is
    started again with a warning (it is a cache: the results can be computed again)."""
    extra = {}
    if plan.option not in (PRIOR,):
        posterior = job.strategies[0].uncertainty.posterior if plan.option == POSTERIOR else None
        file = posterior or plan.option
        extra["posterior file contents"] = evaluation.file_digest(file) or ""
    points = plan.draws
    inputs = evaluation.inputs(job, points, extra)
    return store_cache(
        Path(cache_dir),
        "uncertainty",
        inputs,
        pd.DataFrame({"point": points["draw"]}),
        job.columns,
        curves=True,
        what="draws",
    )
