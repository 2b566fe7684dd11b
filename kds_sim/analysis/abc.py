"""Bayesian calibration by ABC-SMC (pyabc): a posterior ensemble instead of a point fit.

Each particle is a parameter set drawn from the priors (`kds_sim.model.priors`), worked on in
normal coordinates (`from_normal`) and proposed by a kernel that differs from the prior only
in the directions the targets inform (`subspace_transition`). It runs the scenarios of the
targets with role "fit" with fresh random numbers and `replicates` replicates; its distance is
sqrt(sum of squared misses), each miss in units of the target's tolerance (`Target.miss`: 0
inside a bound). A particle is accepted when that distance is at most epsilon. Epsilon follows
pyabc's adaptive schedule (the weighted median of the previous generation's distances),
floored at `minimum_epsilon` (1.0: every fit target jointly within about one tolerance), and
the run stops at that floor or after `generations` generations or `max_simulations`
simulations. The final generation's particles and weights are the posterior.

pyabc is an optional extra (`pip install 'kds-sim[abc]'`) and is imported inside functions,
so `import kds_sim` stays fast.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import math
import os
import platform
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from kds_sim._version import __version__
from kds_sim.analysis.backend import Backend
from kds_sim.analysis.calibration import Evaluator, Target, Targets, check_parameter
from kds_sim.io.scenario_files import ScenarioError, load_scenario
from kds_sim.model.priors import Prior, priors_of

ABC_REPLICATES = 4
"""Replicates per particle by default: 4 x 300 people give 12-month relapse to about +-0.014
(one standard error), below the 0.02 tolerance, at a third of the cost of the point fit's 12."""

GROUP_PREFIXES = ("group.", "intervention_effects.")
"""Keys the targets cannot inform unless a simulated fit scenario has a group."""

INSTALL_HINT = "pip install 'kds-sim[abc]'"


def require_pyabc() -> Any:
    """pyabc, or an error naming the extra to install."""
    try:
        pyabc = importlib.import_module("pyabc")  # untyped; an optional extra
    except ImportError as err:
        raise ImportError(
            f"ABC calibration needs pyabc ({err}); install the extra: {INSTALL_HINT}"
        ) from None
    return pyabc


@dataclass(frozen=True)
class AbcSettings:
    """How the ABC-SMC run is done; every field is recorded in the posterior's provenance."""

    population: int = 100
    generations: int = 8
    max_simulations: int | None = None
    replicates: int = ABC_REPLICATES
    seed: int = 1
    minimum_epsilon: float = 1.0
    population_size: int | None = None
    """Cohort size per particle (default: each scenario's own)."""
    workers: int = 1
    dask_local: int | None = None
    scheduler: str | None = None
    predictive_draws: int = 40

    def check(self) -> None:
        for name, low in (
            ("population", 2),
            ("generations", 1),
            ("replicates", 1),
            ("workers", 1),
            ("predictive_draws", 2),
        ):
            if getattr(self, name) < low:
                raise ScenarioError(f"ABC {name} = {getattr(self, name)}: allowed: {low} or more")
        if self.max_simulations is not None and self.max_simulations < self.population:
            raise ScenarioError(
                f"ABC max_simulations = {self.max_simulations}: allowed: at least the "
                f"population ({self.population})"
            )
        if not self.minimum_epsilon > 0:
            raise ScenarioError(f"ABC minimum_epsilon = {self.minimum_epsilon}: must be > 0")
        if self.dask_local is not None and self.dask_local < 1:
            raise ScenarioError(f"dask_local = {self.dask_local}: allowed: 1 or more")

    @property
    def sampler(self) -> str:
        if self.scheduler:
            return f"pyabc DaskDistributedSampler on {self.scheduler}"
        if self.dask_local:
            return f"pyabc DaskDistributedSampler on a local cluster of {self.dask_local}"
        if self.workers > 1:
            return f"pyabc MulticoreEvalParallelSampler, {self.workers} processes"
        return "pyabc SingleCoreSampler"

    @property
    def reproducible(self) -> bool:
        """Only the single-core sampler draws particles in a fixed order."""
        return self.sampler == "pyabc SingleCoreSampler"


# ---------------------------------------------------------------- which targets and parameters


def fit_targets(targets: Targets) -> Targets:
    """The same targets file with only the targets of role "fit" (what ABC simulates)."""
    fit = [t for t in targets.spec.target if t.role == "fit"]
    if not fit:
        raise ScenarioError(f'{targets.path}: no target has role "fit"; ABC has nothing to fit')
    return Targets(targets.path, targets.spec.model_copy(update={"target": fit}))


def simulated_scenarios(targets: Targets) -> list[Path]:
    """Scenarios a fit target must simulate (a target read from the scenario, such as a PEKA
    baseline, needs no run): the fit scenarios that can inform the parameters."""
    found: list[Path] = []
    for t in fit_targets(targets).spec.target:
        runs = [t.reference] if t.reference else []
        if t.scenario and t.simulated:
            runs.append(t.scenario)
        for rel in runs:
            path = targets.scenario_path(rel)
            if path not in found:
                found.append(path)
    return found


def inferable_priors(targets: Targets) -> tuple[dict[str, Prior], dict[str, str]]:
    """(key -> prior of every parameter ABC infers by default, key -> why another is not).

    Every non-fixed prior of the simulated fit scenarios (the first scenario's prior of a key
    is used), except group and intervention keys when none of them has a group.
    """
    paths = simulated_scenarios(targets) or [
        targets.scenario_path(t.scenario) for t in fit_targets(targets).spec.target
    ]
    scenarios = [load_scenario(p) for p in paths]
    with_group = any(s.group.enabled for s in scenarios)
    priors: dict[str, Prior] = {}
    excluded: dict[str, str] = {}
    for scenario in scenarios:
        for key, prior in priors_of(scenario).items():
            if key in priors or key in excluded:
                continue
            if prior.is_fixed:
                excluded[key] = f"its prior is fixed ({prior.reason or 'a point mass'})"
            elif key.startswith(GROUP_PREFIXES) and not with_group:
                excluded[key] = (
                    "no simulated fit scenario has a group (group.enabled), so the targets "
                    "cannot inform it: its posterior is its prior"
                )
            else:
                priors[key] = prior
    return priors, excluded


def select_priors(targets: Targets, free: list[str] | None = None) -> dict[str, Prior]:
    """The parameters to infer and their priors: all inferable ones, or those `free` names.

    `free` items are KEY (its prior from `kds_sim.model.priors`) or KEY=LOW:HIGH (a uniform
    prior over [LOW, HIGH] instead). Other parameters keep the scenarios' values.
    """
    priors, excluded = inferable_priors(targets)
    if not free:
        return priors
    chosen: dict[str, Prior] = {}
    for item in free:
        key, sep, bounds = item.partition("=")
        check_parameter(key, "free")
        if key in excluded:
            raise ScenarioError(f"free = {key}: cannot be inferred by ABC: {excluded[key]}")
        if key not in priors:
            raise ScenarioError(
                f"free = {key}: not a parameter of the fit scenarios; allowed: "
                f"{', '.join(sorted(priors)[:8])}, ... (kds-sim params)"
            )
        if sep:
            try:
                low, high = (float(v) for v in bounds.split(":"))
            except ValueError:
                raise ScenarioError(
                    f"free = {item!r}: bounds must be LOW:HIGH, e.g. {key}=-6:-3"
                ) from None
            if not low < high:
                raise ScenarioError(f"free = {item!r}: LOW must be below HIGH")
            chosen[key] = Prior("uniform", low, high, reason="uniform over free = LOW:HIGH")
        else:
            chosen[key] = priors[key]
    return chosen


# ----------------------------------------------------------------------- the pyabc pieces


def safe_name(key: str) -> str:
    """pyabc parameter name of a dotted key (dots have meaning in some pyabc tools)."""
    return key.replace(".", "__")


def from_normal(prior: Prior, z: np.ndarray | float) -> np.ndarray:
    """A parameter's value from its coordinate z = Phi^-1(prior CDF).

    ABC works on z, whose prior is the standard normal whatever the parameter's prior family:
    the same inference, but proposals can never leave a prior's bounds, and a parameter the
    targets do not inform keeps exactly the normal shape the proposal assumes.
    """
    from scipy.special import ndtr

    if prior.is_fixed:
        raise ScenarioError(f"a fixed prior ({prior.describe()}) cannot be inferred")
    return prior.ppf(ndtr(np.asarray(z, dtype=float)))


def summary_directions(history: Any, columns: list[str]) -> np.ndarray:
    """Orthonormal directions (columns) of the normal coordinates along which the simulated
    figures change: a linear regression of each varying figure on the coordinates, over every
    particle accepted so far (a figure that never varies, like a PEKA input, gives none)."""
    frames = [history.get_population_extended(t=t) for t in range(history.max_t + 1)]
    table = pd.concat(frames, ignore_index=True)
    z = table[[f"par_{c}" for c in columns]].to_numpy(dtype=float)
    stats = table[[c for c in table.columns if c.startswith("sumstat_")]].to_numpy(dtype=float)
    rows = np.all(np.isfinite(stats), axis=1)
    z, stats = z[rows], stats[rows]
    spread = stats.std(axis=0) if len(stats) > 1 else np.zeros(stats.shape[1])
    stats = (stats[:, spread > 0] - stats[:, spread > 0].mean(axis=0)) / spread[spread > 0]
    if stats.shape[1] == 0:
        return np.zeros((len(columns), 0))
    design = np.column_stack([np.ones(len(z)), z])
    slopes = np.linalg.lstsq(design, stats, rcond=None)[0][1:]
    basis, sizes, _ = np.linalg.svd(slopes, full_matrices=False)
    return basis[:, sizes > 1e-9 * max(sizes.max(), 1e-300)]


def subspace_transition(inflation: float = 1.5) -> Any:
    """pyabc proposal: the prior (standard normal) in every direction of the normal coordinates
    except the few the simulated figures depend on (`summary_directions`), where it is a normal
    with the last generation's weighted mean and `inflation` x its covariance.

    Why not pyabc's default (a Gaussian kernel around each particle): with tens of parameters
    its importance weights prior/proposal collapse (an effective sample size of about 1 % of the
    particles with 70 parameters), because the kernel widens every parameter the targets do not
    inform a little and 70 small mismatches multiply. Here prior and proposal differ only in
    the one or two directions the targets inform, so the weights vary only there, and the
    proposals concentrate where the targets can be met.
    """
    pyabc = require_pyabc()
    from scipy import stats

    base: Any = pyabc.transition.Transition

    class SubspaceNormalTransition(base):
        history: Any = None
        """pyabc's History, set after ABCSMC.new; read when fitting, never sent to workers."""

        def __getstate__(self) -> dict[str, Any]:
            state = dict(self.__dict__)
            state.pop("history", None)
            return state

        def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
            w = np.asarray(w, dtype=float) / np.sum(w)
            self.basis_ = summary_directions(self.history, list(X.columns))
            y = X.to_numpy(dtype=float) @ self.basis_
            self.mean_ = w @ y
            spread = (y - self.mean_).T @ ((y - self.mean_) * w[:, None])
            k = self.basis_.shape[1]
            self.cov_ = inflation * spread + 1e-9 * np.eye(k)
            if k and np.linalg.eigvalsh(self.cov_).min() < 1e-6 * max(1.0, np.trace(self.cov_)):
                # a generation whose weight sits on a few particles (small populations) gives
                # a singular spread: widen it to 0.1 prior sd so proposals keep a density
                self.cov_ = self.cov_ + 1e-2 * np.eye(k)

        def rvs_single(self) -> Any:
            # numpy's global state, which pyabc seeds and reseeds (reproducible on one core)
            xi = np.random.standard_normal(len(self.X.columns))  # noqa: NPY002
            z = xi - self.basis_ @ (self.basis_.T @ xi)
            if self.basis_.shape[1]:
                z = z + self.basis_ @ np.random.multivariate_normal(self.mean_, self.cov_)  # noqa: NPY002
            return pyabc.Parameter(dict(zip(self.X.columns, z, strict=True)))

        def pdf(self, x: Any) -> float | np.ndarray:
            if isinstance(x, pd.DataFrame):
                z = x[self.X.columns].to_numpy(dtype=float)
            else:
                z = np.array([[x[key] for key in self.X.columns]], dtype=float)
            log_q = stats.norm.logpdf(z).sum(axis=1)
            k = self.basis_.shape[1]
            if k:
                y = z @ self.basis_
                log_q = log_q + stats.multivariate_normal(self.mean_, self.cov_).logpdf(y)
                log_q = log_q - stats.multivariate_normal(np.zeros(k), np.eye(k)).logpdf(y)
            density = np.exp(np.atleast_1d(log_q))
            return density if isinstance(x, pd.DataFrame) else float(density[0])

    return SubspaceNormalTransition()


def _process() -> tuple[str, int]:
    return platform.node(), os.getpid()


@dataclass
class ParticleModel:
    """Simulates the fit targets for one particle; pickled to worker processes.

    Each particle's seed comes from a Generator: seeded by `seed` in the process that made the
    model (one core: the same seeds every run), from OS entropy in any worker process (as pyabc
    reseeds its own random state there), so workers never share a stream.
    """

    targets: Targets
    priors: dict[str, Prior]
    replicates: int
    population_size: int | None
    seed: int
    owner: tuple[str, int] = field(default_factory=_process)
    rng_owner: tuple[str, int] | None = None
    rng: np.random.Generator | None = field(default=None, repr=False)
    evaluator: Evaluator | None = field(default=None, repr=False)

    def particle_seed(self) -> int:
        here = _process()
        if self.rng is None or self.rng_owner != here:
            self.rng = np.random.default_rng(self.seed if here == self.owner else None)
            self.rng_owner = here
        return int(self.rng.integers(0, 2**31 - 1))

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        seed = self.particle_seed()
        values = {
            key: float(from_normal(prior, parameters[safe_name(key)]))
            for key, prior in self.priors.items()
        }
        if self.evaluator is None:  # scenario files read once per process, not per particle
            self.evaluator = Evaluator(self.targets, self.replicates, 0, self.population_size)
        return {m.target.name: float(m.mean) for m in self.evaluator.measure(values, seed)}


@dataclass
class MissDistance:
    """sqrt(sum of squared misses in tolerances); an undefined simulated figure never fits."""

    targets: list[Target]

    def __call__(self, x: dict[str, float], x_0: dict[str, float]) -> float:
        total = 0.0
        for target in self.targets:
            value = float(x[target.name])
            if not math.isfinite(value):
                return math.inf
            total += target.miss(value) ** 2
        return math.sqrt(total)


def floored_median_epsilon(floor: float) -> Any:
    """pyabc's MedianEpsilon, never below `floor`: the last generation runs at the floor itself,
    so the posterior means "within `floor` tolerances", not something tighter by chance."""
    pyabc = require_pyabc()

    median: Any = pyabc.epsilon.MedianEpsilon

    class FlooredMedianEpsilon(median):
        def __call__(self, t: int) -> float:
            return max(float(super().__call__(t)), floor)

    return FlooredMedianEpsilon()


@contextmanager
def sampler_for(settings: AbcSettings) -> Iterator[Any]:
    """The pyabc sampler: one core, K local processes, or Dask (a scheduler or a local cluster)."""
    pyabc = require_pyabc()
    if settings.scheduler or settings.dask_local:
        try:
            import distributed  # noqa: F401
        except ImportError as err:
            raise ImportError(f"{err}; install the extra: pip install 'kds-sim[sweep]'") from None
        backend = Backend(1, settings.scheduler, settings.dask_local)
        with backend.dask_client() as client:
            yield pyabc.sampler.DaskDistributedSampler(client, batch_size=1)
        return
    if settings.workers > 1:
        yield pyabc.sampler.MulticoreEvalParallelSampler(n_procs=settings.workers)
        return
    yield pyabc.sampler.SingleCoreSampler()


# ------------------------------------------------------------------------------ the result


@dataclass
class AbcResult:
    """The posterior (one row per particle of the last generation), the run's diagnostics and
    its provenance."""

    targets: Targets
    priors: dict[str, Prior]
    posterior: pd.DataFrame
    """One float column per inferred dotted key, and `weight` (sums to 1)."""
    generations: pd.DataFrame
    settings: AbcSettings
    simulations: int
    wall_seconds: float
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )

    @property
    def keys(self) -> list[str]:
        return list(self.priors)

    @property
    def epsilon(self) -> float:
        return float(self.generations["epsilon"].iloc[-1])

    @property
    def ess(self) -> float:
        return float(self.generations["ess"].iloc[-1])

    @property
    def converged(self) -> bool:
        """Reached the epsilon floor (otherwise the run stopped on generations or simulations)."""
        return self.epsilon <= self.settings.minimum_epsilon

    def provenance(self) -> dict[str, Any]:
        """What the posterior came from: stored beside it (JSON) and inside it (Parquet)."""
        pyabc = require_pyabc()

        return {
            "method": "ABC-SMC (pyabc), distance sqrt(sum of squared misses in tolerances), "
            "weighted-median epsilon floored at minimum_epsilon",
            "package": "kds-sim",
            "version": __version__,
            "pyabc": pyabc.__version__,
            "python": platform.python_version(),
            "created": self.created,
            "targets_file": self.targets.path.name,
            "targets_sha256": hashlib.sha256(self.targets.path.read_bytes()).hexdigest(),
            "fit_targets": [t.name for t in self.targets.spec.target if t.role == "fit"],
            "settings": asdict(self.settings),
            "sampler": self.settings.sampler,
            "reproducible": "exactly (single core, fixed seed)"
            if self.settings.reproducible
            else "in distribution only (parallel sampler)",
            "generations": int(len(self.generations)),
            "epsilon": self.epsilon,
            "converged": self.converged,
            "particles": int(len(self.posterior)),
            "effective_sample_size": round(self.ess, 2),
            "simulations": self.simulations,
            "wall_seconds": round(self.wall_seconds, 1),
            "priors": {
                k: {"prior": p.describe(6), "reason": p.reason} for k, p in self.priors.items()
            },
        }

    def identification(self) -> pd.DataFrame:
        """Per parameter: prior and posterior moments, 95 % credible interval, posterior sd /
        prior sd (near 1: the targets do not identify the parameter), and the parameter it is
        most correlated with in the posterior (a trade-off the targets impose)."""
        w = self.posterior["weight"].to_numpy(dtype=float)
        correlation = self.correlations()
        rows = []
        for key, prior in self.priors.items():
            x = self.posterior[key].to_numpy(dtype=float)
            mean = float(np.sum(w * x))
            sd = float(np.sqrt(np.sum(w * (x - mean) ** 2)))
            prior_mean, prior_sd = prior_moments(prior)
            low, high = weighted_quantiles(x, w, [0.025, 0.975])
            ratio = sd / prior_sd
            partner = str(correlation.loc[key].abs().idxmax()) if len(self.keys) > 1 else ""
            rows.append(
                {
                    "parameter": key,
                    "prior": prior.describe(),
                    "prior_mean": prior_mean,
                    "prior_sd": prior_sd,
                    "posterior_mean": mean,
                    "posterior_sd": sd,
                    "ci_low": low,
                    "ci_high": high,
                    "sd_ratio": ratio,
                    "reading": identified_reading(ratio, self.ess),
                    "partner": partner,
                    "correlation": correlation.to_numpy()[
                        self.keys.index(key), self.keys.index(partner)
                    ]
                    if partner
                    else np.nan,
                }
            )
        return pd.DataFrame(rows).sort_values("sd_ratio", ignore_index=True)

    def correlations(self) -> pd.DataFrame:
        """Weighted posterior correlations between parameters (0 on the diagonal): a trade-off
        the targets impose shows as a strong one."""
        w = self.posterior["weight"].to_numpy(dtype=float)
        x = self.posterior[self.keys].to_numpy(dtype=float)
        centred = x - w @ x
        cov = centred.T @ (centred * w[:, None])
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.nan_to_num(cov / np.outer(sd, sd))
        np.fill_diagonal(r, 0.0)
        return pd.DataFrame(r, index=self.keys, columns=self.keys)


IDENTIFIED = 0.5
"""posterior sd / prior sd below which a parameter is called fitted (issue 21)."""


MIN_ESS = 20.0
"""Effective sample size below which posterior sds are not read: a weighted sd of a handful of
effective particles scatters too much to call a parameter identified or not (a generation can
collapse to ESS 5 near the epsilon the targets' noise allows)."""


def identified_reading(ratio: float, ess: float = np.inf) -> str:
    """Posterior sd / prior sd in words (with about 100 particles the ratio of a parameter the
    data ignore scatters between about 0.85 and 1.1); not read below MIN_ESS."""
    if ess < MIN_ESS:
        return f"not read: ESS {ess:.0f} < {MIN_ESS:.0f}"
    if ratio < IDENTIFIED:
        return "identified"
    if ratio < 0.85:
        return "partly identified"
    return "not identified"


def prior_moments(prior: Prior) -> tuple[float, float]:
    """Mean and sd of a prior (closed forms)."""
    a, b = prior.low, prior.high
    if prior.is_fixed:
        return a, 0.0
    if prior.family == "uniform":
        return (a + b) / 2, (b - a) / math.sqrt(12)
    if prior.family == "triangular":
        c = a if prior.mode is None else prior.mode
        return (a + b + c) / 3, math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18)
    if prior.family == "lognormal":  # (bounded effects use a transformed scale) by quadrature
        x = prior.ppf((np.arange(20_000) + 0.5) / 20_000)
        return float(np.mean(x)), float(np.std(x))
    log_span = math.log(b / a)  # loguniform
    mean = (b - a) / log_span
    return mean, math.sqrt((b * b - a * a) / (2 * log_span) - mean * mean)


def posterior_medians(path: str | Path, keys: list[str] | None = None) -> dict[str, float]:
    """Weighted median of each column (or of `keys`) of a posterior Parquet file."""
    posterior = pd.read_parquet(path)
    w = posterior["weight"].to_numpy(dtype=float)
    keys = keys if keys is not None else [c for c in posterior.columns if c != "weight"]
    missing = sorted(set(keys) - set(posterior.columns))
    if missing:
        raise ScenarioError(f"{path}: no column(s) {missing}; allowed: {list(posterior.columns)}")
    return {k: weighted_quantiles(posterior[k].to_numpy(dtype=float), w, [0.5])[0] for k in keys}


def point_start(
    free: list[str], posterior: str | Path, identification: str | Path
) -> tuple[dict[str, float], dict[str, float]]:
    """Where the point fit starts, and what it holds: (posterior medians of the `free`
    parameters, posterior medians of every other parameter the ABC identifies, read from its
    identification table)."""
    table = pd.read_csv(identification)
    if "reading" in table:  # the reading also refuses a posterior of too few particles
        narrow = table["reading"] == identified_reading(0.0)
    else:
        narrow = table["sd_ratio"] < IDENTIFIED
    fitted = table.loc[narrow, "parameter"].tolist()
    medians = posterior_medians(posterior, sorted(set(fitted) | set(free)))
    return {k: medians[k] for k in free}, {k: medians[k] for k in fitted if k not in free}


def weighted_quantiles(x: np.ndarray, w: np.ndarray, q: list[float]) -> list[float]:
    """Quantiles of a weighted sample (the inverse of its weighted empirical CDF)."""
    order = np.argsort(x)
    cdf = np.cumsum(w[order]) / np.sum(w)
    return [float(x[order][min(int(np.searchsorted(cdf, p)), len(x) - 1)]) for p in q]


# ------------------------------------------------------------------------------- the run


def calibrate_abc(
    targets: Targets,
    priors: dict[str, Prior],
    settings: AbcSettings,
    db_path: Path,
    progress: bool = True,
) -> AbcResult:
    """Run ABC-SMC; pyabc's SQLite history goes to `db_path` (the caller keeps or deletes it)."""
    pyabc = require_pyabc()
    settings.check()
    if not priors:
        raise ScenarioError(f"{targets.path}: no parameter to infer")
    fit = fit_targets(targets)
    model = ParticleModel(fit, priors, settings.replicates, settings.population_size, settings.seed)
    distance = MissDistance(list(fit.spec.target))
    prior = pyabc.Distribution(**{safe_name(k): pyabc.RV("norm", 0, 1) for k in priors})
    observed = {
        t.name: float(t.value if t.value is not None else np.mean(t.bound or (np.nan,)))
        for t in fit.spec.target
    }
    db_path.unlink(missing_ok=True)  # a killed run's leftover: pyabc would append to it
    # pyabc draws proposals from numpy's and Python's global random state (it reseeds them in
    # its parallel workers); seeding them here makes a single-core run exactly reproducible
    np.random.seed(settings.seed)  # noqa: NPY002
    random.seed(settings.seed)
    started = time.perf_counter()
    transition = subspace_transition()
    with sampler_for(settings) as sampler:
        sampler.show_progress = False
        abc = pyabc.ABCSMC(
            model,
            prior,
            distance,
            population_size=settings.population,
            transitions=transition,
            eps=floored_median_epsilon(settings.minimum_epsilon),
            sampler=sampler,
        )
        transition.history = abc.new(f"sqlite:///{db_path}", observed)
        history = abc.run(
            minimum_epsilon=settings.minimum_epsilon,
            max_nr_populations=settings.generations,
            max_total_nr_simulations=settings.max_simulations or np.inf,
        )
    return result_from_history(history, targets, priors, settings, time.perf_counter() - started)


def result_from_history(
    history: Any,
    targets: Targets,
    priors: dict[str, Prior],
    settings: AbcSettings,
    wall: float,
    t: int | None = None,
    generations: pd.DataFrame | None = None,
) -> AbcResult:
    """The result of a run from its pyabc History: its generation `t` (default the last
    complete one), with the generations up to it (`generations`: the run's
    generation_table, when the caller has it already)."""
    t = history.max_t if t is None else t
    table, weights = history.get_distribution(m=0, t=t)
    generations = generation_table(history) if generations is None else generations
    posterior = pd.DataFrame(
        {k: from_normal(p, table[safe_name(k)].to_numpy(dtype=float)) for k, p in priors.items()}
    ).assign(weight=np.asarray(weights, dtype=float) / np.sum(weights))
    return AbcResult(
        targets=targets,
        priors=priors,
        posterior=posterior,
        generations=generations[generations["generation"] <= t].reset_index(drop=True),
        settings=settings,
        simulations=int(history.total_nr_simulations)
        - int(generations.loc[generations["generation"] > t, "simulations"].sum()),
        wall_seconds=wall,
    )


def stopped_run(
    db_path: Path, targets: Targets, priors: dict[str, Prior], settings: AbcSettings
) -> AbcResult:
    """The result of a single-core run stopped between generations (its working database):
    its last complete generation, with `settings.generations` set to the generations it ran,
    so the provenance names the settings that reproduce it exactly (`--generations K`)."""
    pyabc = require_pyabc()
    if not Path(db_path).is_file():
        raise ScenarioError(f"{db_path}: no such file; allowed: a run's working database")
    history = pyabc.History(f"sqlite:///{db_path}", _id=1)
    if history.max_t is None or history.max_t < 0:
        raise ScenarioError(f"{db_path}: no complete generation to finish from")
    generations = generation_table(history)
    done = replace(settings, generations=int(history.max_t) + 1)
    wall = float(np.nansum(generations["wall_seconds"]))
    return result_from_history(history, targets, priors, done, wall, generations=generations)


def generation_table(history: Any) -> pd.DataFrame:
    """Per generation: epsilon, particles, simulations, acceptance rate, effective sample size
    (the calibration sample from the prior, t = -1, counts in the total simulations only)."""
    pyabc = require_pyabc()

    pops = history.get_all_populations()
    rows = []
    for row in pops[pops["t"] >= 0].itertuples():
        _, w = history.get_distribution(m=0, t=int(row.t))
        rows.append(
            {
                "generation": int(row.t),
                "epsilon": float(row.epsilon),
                "particles": int(row.particles),
                "simulations": int(row.samples),
                "acceptance_rate": float(row.particles) / float(row.samples),
                "ess": float(pyabc.weighted_statistics.effective_sample_size(w)),
                "wall_seconds": float(row.wall_time) if pd.notna(row.wall_time) else np.nan,
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ posterior predictive check


PredictTask = tuple[Targets, list[tuple[int, dict[str, float], int]], int, int | None]
"""(targets, [(draw, parameter values, seed)], replicates, population size)."""


def _predict(task: PredictTask) -> list[tuple[int, dict[str, float]]]:
    """Every target (fit and check) at a few posterior draws, each with its own seeds."""
    targets, draws, replicates, population_size = task
    evaluator = Evaluator(targets, replicates, 0, population_size)
    return [
        (d, {m.target.name: float(m.mean) for m in evaluator.measure(values, seed)})
        for d, values, seed in draws
    ]


def predictive_draws(result: AbcResult, draws: int, seed: int) -> pd.DataFrame:
    """`draws` parameter sets resampled from the posterior by weight, each with its own seed."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**32 - 2,)))
    post = result.posterior
    rows = rng.choice(len(post), size=draws, p=post["weight"].to_numpy(dtype=float))
    table = post.iloc[rows][result.keys].reset_index(drop=True)
    table.insert(0, "seed", rng.integers(0, 2**31 - 1, size=draws))
    table.insert(0, "draw", np.arange(draws))
    return table


def predictive_check(
    result: AbcResult, workers: int = 1, progress: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate every target at posterior draws: (per-target summary, per-draw values).

    The summary gives the predictive mean and 95 % interval (2.5th-97.5th percentile over draws,
    parameter and simulation noise together) against the target, whether the target lies in it
    (a bound: overlaps it), and the share of draws within one tolerance.
    """
    settings = result.settings
    plan = predictive_draws(result, settings.predictive_draws, settings.seed)
    jobs = [
        (int(row["draw"]), {k: float(row[k]) for k in result.keys}, int(row["seed"]))
        for _, row in plan.iterrows()
    ]
    per_task = max(1, len(jobs) // (4 * workers)) if workers > 1 else len(jobs) or 1
    tasks: list[PredictTask] = [
        (result.targets, jobs[i : i + per_task], settings.replicates, settings.population_size)
        for i in range(0, len(jobs), per_task)
    ]
    bar = tqdm(total=len(jobs), desc="predictive check", unit="draw", leave=False,
               disable=None if progress else True)  # fmt: skip
    found: list[dict[str, float]] = [{} for _ in jobs]

    def done(batch: list[tuple[int, dict[str, float]]]) -> None:
        for d, values in batch:
            found[d] = values
        bar.update(len(batch))

    Backend(workers).map(_predict, tasks, done)
    bar.close()
    per_draw = pd.concat([plan, pd.DataFrame(found)], axis=1)
    rows = []
    for t in result.targets.spec.target:
        x = per_draw[t.name].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        low, high = np.percentile(x, [2.5, 97.5]) if len(x) else (np.nan, np.nan)
        slack = 1e-9 * t.tolerance  # a figure read from the scenario equals its target exactly
        if t.bound is not None:
            inside = bool(low - slack <= t.bound[1] and high + slack >= t.bound[0])
        else:
            inside = bool(low - slack <= float(t.value or 0.0) <= high + slack)
        rows.append(
            {
                "target": t.name,
                "role": t.role,
                "metric": t.quantity,
                "value": t.value,
                "bound_low": t.bound[0] if t.bound else np.nan,
                "bound_high": t.bound[1] if t.bound else np.nan,
                "tolerance": t.tolerance,
                "predictive_mean": float(np.mean(x)) if len(x) else np.nan,
                "predictive_low": float(low),
                "predictive_high": float(high),
                "inside": inside,
                "share_within_tolerance": float(np.mean([abs(t.miss(v)) <= 1 for v in x]))
                if len(x)
                else np.nan,
                "draws": int(len(x)),
            }
        )
    return pd.DataFrame(rows), per_draw


# ----------------------------------------------------------------------------- the files


def write_posterior(path: Path, posterior: pd.DataFrame, provenance: dict[str, Any]) -> Path:
    """The posterior as Parquet with the provenance in its key-value metadata (key
    `kds_sim`, JSON), written atomically."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from kds_sim.io import storage

    table = pa.Table.from_pandas(posterior, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[b"kds_sim"] = json.dumps(provenance, default=str).encode()
    table = table.replace_schema_metadata(meta)

    def write(tmp: Path) -> None:
        pq.write_table(table, tmp)

    return storage.atomic_write(path, write)


def read_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance stored in a posterior Parquet file."""
    import json

    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return dict(json.loads(meta[b"kds_sim"])) if b"kds_sim" in meta else {}


def working_db(out: Path, stem: str) -> Path:
    """Where pyabc's history is written while the run goes (hidden, beside the outputs)."""
    out.mkdir(parents=True, exist_ok=True)
    return out / f".{stem}_abc.db.part"


def finish_db(db: Path, out: Path, stem: str, keep: bool) -> Path | None:
    """Keep pyabc's history as `<stem>_abc.db`, or delete it."""
    if not keep:
        db.unlink(missing_ok=True)
        return None
    final = out / f"{stem}_abc.db"
    os.replace(db, final)
    return final
