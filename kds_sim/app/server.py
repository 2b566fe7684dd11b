"""Starting the classroom app: settings passed to the page, and Solara's server, offline.

`serve` runs Solara's own `solara run` on the page in kds_sim.app.components. The page reads
its settings (scenario, language, people, seed, days) from KDS_SIM_APP_* environment
variables, which is how Solara's server hands settings to a page it imports itself.

Offline: Solara loads its front end from a CDN unless the `solara-assets` package is
installed, which the app extra pins (classrooms often have a poor connection, and this
machine reaches no CDN). Solara's telemetry and its version check are switched off, and a
browser tab that is closed stops costing CPU after a minute (its kernel is culled).
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import os
import threading
import warnings
from dataclasses import dataclass, fields
from pathlib import Path

import kds_sim
from kds_sim.app.model import Levers, default_scenario_path
from kds_sim.io import packaged
from kds_sim.messages import DEFAULT_LANG, check_lang

ENV_PREFIX = "KDS_SIM_APP_"
PAGE_MODULE = "kds_sim.app.components"
STOPPING = threading.Event()
"""Set when the server stops: pages that are still playing stop stepping."""
SOLARA_ENV = {
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_KERNEL_CULL_TIMEOUT": "60s",
    "SOLARA_THEME_SHOW_BANNER": "False",
    "SOLARA_THEME_TITLE": "kds-sim",
}


@dataclass(frozen=True)
class AppConfig:
    """What `kds-sim app` was asked for; everything else comes from the scenario file."""

    scenario: str = ""
    lang: str = DEFAULT_LANG
    people: int = 150
    seed: int = 1
    days: int = 730
    stop: int = 365  # the day Play stops at first (a preset or the page can change it)

    def to_env(self) -> dict[str, str]:
        return {f"{ENV_PREFIX}{f.name.upper()}": str(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> AppConfig:
        env = os.environ if environ is None else environ
        values: dict[str, str | int] = {}
        for f in fields(cls):
            raw = env.get(f"{ENV_PREFIX}{f.name.upper()}")
            if raw is not None:
                values[f.name] = int(raw) if f.type == "int" else raw
        return cls(**values)  # type: ignore[arg-type]

    def scenario_path(self) -> Path | None:
        return packaged.resolve(self.scenario) if self.scenario else default_scenario_path()

    def base_scenario(self) -> kds_sim.Scenario:
        """The scenario the levers start from (group_as_assessed.toml unless one is given)."""
        path = self.scenario_path()
        if path is None:
            raise FileNotFoundError("scenarios/group_as_assessed.toml")
        return kds_sim.load_scenario(path)

    def levers(self, base: kds_sim.Scenario) -> Levers:
        return Levers.from_scenario(base, people=self.people, seed=self.seed, days=self.days)

    def checked(self) -> AppConfig:
        check_lang(self.lang)
        return self


def is_loopback(host: str) -> bool:
    """True for addresses only this computer can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def has_app_packages() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("solara", "ipyvuetify"))


def offline_note() -> str:
    """Empty when the front end can be served offline; else one line saying why not.

    solara-assets bundles the front end of one solara version; with another solara (or none)
    Solara fetches what is missing from its CDN, so the page still works with internet.
    """
    from importlib import metadata

    try:
        assets = metadata.version("solara-assets")
    except metadata.PackageNotFoundError:
        return (
            "note: solara-assets is not installed, so the page loads its front end from the "
            "internet; for a classroom without internet: pip install 'kds-sim[offline]'"
        )
    solara = metadata.version("solara")
    if assets != solara:
        return (
            f"note: solara {solara} and solara-assets {assets} differ, so the page loads part "
            f"of its front end from the internet; for a classroom without internet: "
            f"pip install 'solara=={assets}'"
        )
    return ""


def serve(
    config: AppConfig, host: str = "127.0.0.1", port: int = 8765, open_browser: bool = False
) -> int:
    """Run the app until Ctrl+C; returns the exit code."""
    os.environ.update(config.to_env())
    for key, value in SOLARA_ENV.items():
        os.environ.setdefault(key, value)
    # Solara warns on every page load that a session cookie over plain http on 127.0.0.1 falls
    # back to samesite=lax: right for a local classroom app, and only noise for the lecturer
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    from solara.__main__ import cli  # after the environment: Solara reads it on import

    args = [
        "run",
        PAGE_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-check-version",
        "--log-level",
        "warning",
        "--open" if open_browser else "--no-open",
    ]
    from click.exceptions import Abort

    try:
        with contextlib.suppress(KeyboardInterrupt, Abort):  # Ctrl+C or a stop signal: done
            cli.main(args=args, prog_name="kds-sim app", standalone_mode=False)
    finally:
        STOPPING.set()  # running play loops end, so the process can exit
    return 0
