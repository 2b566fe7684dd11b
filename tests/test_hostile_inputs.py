"""Hostile inputs outside the stores: each is refused (or handled) with one line naming the
file, key or column, the value and what is allowed, before any simulation where it can be;
and statistics that cannot be (a share's interval below 0) are not reported.
"""

from __future__ import annotations

import errno
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kds_sim.analysis import metrics, statistics
from kds_sim.analysis.calibration import load_targets
from kds_sim.analysis.uncertainty import plan_draws, read_posterior
from kds_sim.cli import main as cli
from kds_sim.errors import KdsSimError, OutputFolderError, ScenarioError
from kds_sim.io import storage
from kds_sim.io.scenario_files import validate

LABEL_LENGTH = 120  # kds_sim.model.parameters.LABEL_LENGTH

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
TINY = ["--replicates", "2", "--horizon", "30", "--set", "population.size=30", "--no-progress"]


def one_line(err: Exception | str, limit: int = 400) -> str:
    text = str(err)
    assert "\n" not in text.strip() and len(text) < limit, text[:500]
    return text


# -- class 2: text a report cannot show ------------------------------------------------------------
INVISIBLE = st.text(
    alphabet=st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", " ", "\u00a0"]),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(label=INVISIBLE)
def test_labels_of_only_invisible_characters_are_refused(label: str) -> None:
    with pytest.raises(ScenarioError, match="only spaces or zero-width characters") as err:
        validate({"label": label})
    one_line(err.value)


@settings(max_examples=40, deadline=None)
@given(
    key=st.sampled_from(["name", "label", "label_id", "description", "description_id"]),
    before=st.text(max_size=10),
    after=st.text(max_size=10),
)
def test_a_nul_anywhere_in_scenario_text_is_refused(key: str, before: str, after: str) -> None:
    with pytest.raises(ScenarioError, match="control character U\\+") as err:
        validate({key: before + "\x00" + after})
    assert key in one_line(err.value)


@settings(max_examples=40, deadline=None)
@given(
    label=st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=LABEL_LENGTH,
    ).filter(lambda s: any(not c.isspace() for c in s))
)
def test_printable_labels_with_markup_and_dollars_are_accepted(label: str) -> None:
    from kds_sim.model.parameters import _visible

    if any(_visible(c) for c in label):
        assert validate({"label": label}).label == label


def test_a_long_label_or_currency_is_refused_with_the_limit() -> None:
    for data in ({"label": "x" * 100_000}, {"costs": {"currency": "$" * 500}}):
        with pytest.raises(ScenarioError, match="at most 120 characters") as err:
            validate(data)
        one_line(err.value)


# -- class 3: the brief's command, --at-least, whole-number priors -------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_at_least_must_be_a_finite_number(value: str, capsys) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(
            ["compare", "a.toml", "--uncertainty", "prior", f"--at-least={value}"]
        )
    assert "finite number" in capsys.readouterr().err


def test_a_prior_on_population_size_draws_whole_numbers() -> None:
    spec = {"family": "uniform", "low": 40.5, "high": 60.2, "reason": "test"}
    scenario = validate({"uncertainty": {"priors": {"population.size": spec}}})
    plan = plan_draws([scenario], scenario, "prior", 400, seed=3)
    drawn = plan.draws["population.size"].to_numpy()
    assert np.all(drawn == np.round(drawn)) and drawn.min() >= 41 and drawn.max() <= 60
    counts = np.bincount(drawn.astype(int) - 41, minlength=20)
    assert counts.min() > 0  # every whole number in [41, 60] is drawn (400 draws, p = 1/20)


def test_a_whole_number_prior_without_a_whole_number_is_refused() -> None:
    spec = {"family": "uniform", "low": 40.2, "high": 40.8, "reason": "test"}
    scenario = validate({"uncertainty": {"priors": {"population.size": spec}}})
    with pytest.raises(ScenarioError, match="population.size") as err:
        plan_draws([scenario], scenario, "prior", 4, seed=3)
    one_line(err.value)


# -- class 7: files and disks ------------------------------------------------------------------
def test_unit_costs_must_be_below_a_sane_bound() -> None:
    with pytest.raises(ScenarioError, match="per_member") as err:
        validate({"costs": {"per_member": 1e308}})
    assert "allowed: 0 to" in one_line(err.value)
    assert validate({"costs": {"per_member": 1e9}}).costs.per_member == 1e9


@pytest.mark.parametrize(
    "text, expected",
    [
        (b"", "target: Field required"),  # an empty file: no target
        (b"\x89\xff\xfe\x00garbage\x01", "not UTF-8"),
        (
            b'[[target]]\nname = "a"\nmetric = "relapse_90d"\nvalue = nan\ntolerance = 0.1\n',
            "finite number",
        ),
        (
            b'[[target]]\nname = "a"\nmetric = "relapse_90d"\nvalue = 0.3\ntolerance = inf\n',
            "finite number",
        ),
    ],
)
def test_a_bad_targets_file_is_one_line(tmp_path: Path, text: bytes, expected: str) -> None:
    path = tmp_path / "targets.toml"
    path.write_bytes(text)
    with pytest.raises(ScenarioError, match=expected) as err:
        load_targets(path, SCENARIOS / "no_group.toml")
    assert str(path) in one_line(err.value)


def _posterior(tmp_path: Path, **columns) -> Path:
    path = tmp_path / "posterior.parquet"
    pd.DataFrame(columns).to_parquet(path)
    return path


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda p: p.write_bytes(b""), "not a readable posterior"),
        (lambda p: p.write_bytes(b"PAR1 this is not parquet"), "not a readable posterior"),
        (lambda p: p.write_text("weight,x\n1,2\n"), "not a readable posterior"),
        (
            lambda p: pd.DataFrame(
                {"weight": [1.0, np.inf], "group.coverage": [0.5, 0.6]}
            ).to_parquet(p),
            "column 'weight'",
        ),
        (
            lambda p: pd.DataFrame({"weight": [1.0, 1.0], "group.coverage": ["a", "b"]}).to_parquet(
                p
            ),
            "column 'group.coverage'",
        ),
        (
            lambda p: pd.DataFrame(
                {"weight": [1.0] * 3000, "group.coverage": [np.nan] * 3000}
            ).to_parquet(p),
            "column 'group.coverage'",
        ),
        (
            lambda p: pd.DataFrame({"weight": [-1.0, 2.0], "x": [0.1, 0.2]}).to_parquet(p),
            "numbers >= 0",
        ),
    ],
)
def test_a_bad_posterior_is_one_line_naming_file_and_column(tmp_path: Path, make, expected):
    path = tmp_path / "posterior.parquet"
    make(path)
    with pytest.raises(ScenarioError, match=expected) as err:
        read_posterior(path)
    text = one_line(err.value, limit=300)
    assert str(path) in text and "allowed" in text


def test_disk_full_while_writing_outputs_is_one_line_and_leaves_no_set(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    import matplotlib.figure

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    out = tmp_path / "out"
    assert cli.main(["run", str(SCENARIOS / "no_group.toml"), "--out", str(out), *TINY]) == 2
    err = capsys.readouterr().err
    assert "No space left on device (ENOSPC)" in one_line(err)
    assert ".staging" not in err and "Traceback" not in err
    left = [p.name for p in out.iterdir()]
    assert "manifest.json" not in left and not [n for n in left if n.startswith(".staging")]
    assert not list(out.rglob("*.part"))


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_disk_full_on_a_real_small_filesystem(tmp_path: Path, capsys) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        argv = ["run", str(SCENARIOS / "no_group.toml"), "--out", str(disk / "out")]
        argv += ["--replicates", "2", "--horizon", "60", "--set", "population.size=50"]
        assert cli.main([*argv, "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert "ENOSPC" in one_line(err) and ".staging" not in err
        assert not (disk / "out" / "manifest.json").exists()
        assert not list((disk / "out").rglob("*.part"))
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_read_only_folder_is_one_line(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputFolderError, match="Read-only file system") as err:
        storage.write_text(tmp_path / "a" / "report.html", "x")
    one_line(err.value)


def test_a_failing_pdf_browser_names_no_staging_folder(tmp_path: Path) -> None:
    from kds_sim.report.pdf import PdfError, write_pdf

    staging = tmp_path / "out" / ".staging-20260101T000000-abcdef12"
    staging.mkdir(parents=True)
    page = staging / "report.html"
    page.write_text("<!doctype html><p>x</p>", encoding="utf-8")
    with pytest.raises(PdfError) as err:
        write_pdf(page, staging / "report.pdf", browser="/bin/false")
    assert ".staging" not in one_line(err.value) and "report.html" in str(err.value)


def test_compare_pdf_with_a_failing_browser_names_no_staging_folder(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("KDS_SIM_CHROMIUM", "/bin/false")
    out = tmp_path / "out"
    argv = ["compare", str(SCENARIOS / "no_group.toml"), "--out", str(out), "--pdf", *TINY]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "no PDF" in err and ".staging" not in err
    assert (out / "report.html").is_file()


# -- class 8: intervals that respect [0, 1] ----------------------------------------------------
SHARES = st.lists(st.floats(0, 1), min_size=2, max_size=40)


@settings(max_examples=200, deadline=None)
@given(values=SHARES)
def test_a_share_interval_stays_in_0_1_and_holds_the_mean(values: list[float]) -> None:
    mean, low, high = statistics.proportion_ci(np.array(values))
    assert 0.0 <= low <= high <= 1.0
    assert low - 1e-12 <= mean <= high + 1e-12


def test_two_replicates_give_no_interval_below_zero_and_a_warning() -> None:
    table = pd.DataFrame({"replicate": [0, 1], "relapse_horizon": [0.0, 0.3]})
    with pytest.warns(statistics.FewReplicatesWarning, match="2 replicates"):
        summary = statistics.summarise(table, metrics.units(["relapse_horizon"]))
    row = summary.iloc[0]
    assert 0.0 <= row["ci_low"] <= row["mean"] <= row["ci_high"] <= 1.0
    # the Student t interval, which this replaces, went below 0: [-1.756, 2.056]
    _, t_low, _ = statistics.mean_ci(np.array([0.0, 0.3]))
    assert t_low < 0


def test_a_run_with_two_replicates_reports_shares_inside_0_1() -> None:
    from kds_sim.analysis import runner
    from kds_sim.io.scenario_files import load_scenario

    scenario = load_scenario(SCENARIOS / "no_group.toml", {"population.size": 30})
    with pytest.warns(statistics.FewReplicatesWarning):
        summary = runner.run(scenario, replicates=2, horizon=60, progress=False).summary()
    shares = summary[summary["metric"].map(lambda m: statistics.is_share(metrics.get(m).unit))]
    assert len(shares) >= 5
    assert (shares["ci_low"] >= 0).all() and (shares["ci_high"] <= 1).all()


def test_with_many_replicates_wilson_equals_the_t_interval() -> None:
    rng = np.random.default_rng(1)
    values = rng.binomial(500, 0.4, size=200) / 500  # 200 replicates of 500 people
    _, low, high = statistics.proportion_ci(values)
    _, t_low, t_high = statistics.mean_ci(values)
    assert math.isclose(low, t_low, abs_tol=2e-4) and math.isclose(high, t_high, abs_tol=2e-4)


def test_enough_replicates_give_no_warning() -> None:
    import warnings

    table = pd.DataFrame({"replicate": range(5), "relapse_horizon": [0.1, 0.2, 0.3, 0.2, 0.1]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", statistics.FewReplicatesWarning)
        statistics.summarise(table)


def test_every_error_here_is_a_kds_sim_error() -> None:
    assert issubclass(ScenarioError, KdsSimError) and issubclass(OutputFolderError, KdsSimError)
