"""Scenario files: TOML loading, `extends` chains, overrides, and errors a user can act on."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from kds_sim.errors import ScenarioError
from kds_sim.io import packaged
from kds_sim.model.interventions import REGISTRY
from kds_sim.model.parameters import REMOVED_KEYS
from kds_sim.model.scenario import Scenario

MAX_EXTENDS_DEPTH = 20
LIST_KEYS = ("interventions",)  # arrays of tables: a child's entries are appended to its parent's


def _read_toml(path: Path, referrer: Path | None) -> dict[str, Any]:
    if not path.is_file():
        where = f" (named by 'extends' in {referrer})" if referrer else ""
        raise ScenarioError(f"{path}: scenario file not found{where}")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a BOM (Windows editors) is harmless
    except UnicodeDecodeError as err:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8"
        ) from None
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read: {err.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None


def _merge(base: dict, over: dict, origin: dict, file: Path, prefix: str = "") -> None:
    """Deep-merge `over` into `base`, recording which file set each key."""
    for key, value in over.items():
        dotted = f"{prefix}{key}"
        if key in LIST_KEYS and not prefix and isinstance(value, list):
            start = len(base.get(key, []))
            base[key] = list(base.get(key, [])) + copy.deepcopy(value)
            for i in range(len(value)):
                origin[f"{key}[{start + i}]"] = file
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, origin, file, dotted + ".")
        else:
            base[key] = copy.deepcopy(value)
            origin[dotted] = file


def _resolve(path: Path, chain: tuple[Path, ...], origin: dict) -> dict[str, Any]:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path))
        raise ScenarioError(f"{chain[-1]}: key 'extends' makes a cycle: {cycle}")
    if len(chain) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"{path}: 'extends' chain deeper than {MAX_EXTENDS_DEPTH} files")
    data = _read_toml(path, chain[-1] if chain else None)
    parent = data.pop("extends", None)
    merged: dict[str, Any] = {}
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            raise ScenarioError(
                f"{path}: key 'extends' = {parent!r}: must be the path of "
                "another scenario file, relative to this one"
            )
        merged = _resolve(path.parent / parent, (*chain, path), origin)
    _merge(merged, data, origin, path)
    return merged


def _set_dotted(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ScenarioError(f"override {key}: {part!r} is not a section")
    node[parts[-1]] = value


def _loc_to_key(loc: tuple) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += ("." if key else "") + str(part)
    return key


def _lookup(data: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The schema section inside an annotation (through Optional, list, dict, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or getattr(annotation, "__origin__", ()):
        found = _section_type(arg)
        if found is not None:
            return found
    return None


def _model_at(loc: tuple, data: Any = None) -> type[BaseModel] | None:
    """The schema section a location points into, to list the keys it allows. Intervention
    entries and effects are looked up by their kind."""
    model: Any = Scenario
    node = data
    parent = None
    for part in loc:
        node = _lookup(node, (part,)) if node is not None else None
        if isinstance(part, int):
            if (
                parent == "interventions"
                and isinstance(node, dict)
                and node.get("kind") in REGISTRY
            ):
                model = REGISTRY[node["kind"]].entry_type
            continue
        if parent == "intervention_effects" and part in REGISTRY:
            model, parent = REGISTRY[part].effects_type, part
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model, parent = _section_type(field.annotation), part
        if model is None and part != "intervention_effects":
            return None
    return model


def _allowed(field: Any) -> str:
    """A field's numeric bounds in words ("0 to 1", "at least 1"), or ""."""
    bounds: dict[str, Any] = {}
    for item in field.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(item, name, None) is not None:
                bounds[name] = getattr(item, name)
    low = bounds.get("ge", bounds.get("gt"))
    high = bounds.get("le", bounds.get("lt"))
    if low is not None and high is not None:
        return f"allowed: {low} to {high}"
    if low is not None:
        return f"allowed: {'above' if 'gt' in bounds else 'at least'} {low}"
    if high is not None:
        return f"allowed: {'below' if 'lt' in bounds else 'at most'} {high}"
    return ""


def _origin_of(key: str, origin: dict[str, Path], default: Path | str) -> Path | str:
    probe = key
    while probe:
        if probe in origin:
            return origin[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return default


def describe_errors(errors: list[Any], data: dict, origin: dict, default: Path | str) -> str:
    """One line per validation error: the file that set the key, the key, the value, and what
    is allowed."""
    lines = []
    for error in errors:
        loc = tuple(p for p in error["loc"] if p not in ("function-after",))
        key = _loc_to_key(loc)
        file = _origin_of(key, origin, default)
        if error["type"] == "extra_forbidden":
            section = _model_at(loc[:-1], data)
            allowed = ", ".join(section.model_fields) if section else "see docs/parameters.md"
            where = _loc_to_key(loc[:-1]) or "top level"
            removed = REMOVED_KEYS.get(re.sub(r"\[\d+\]", "", key))
            why = f" ({removed})" if removed else ""
            lines.append(f"{file}: unknown key '{key}'{why}; allowed keys in [{where}]: {allowed}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        if not key:
            # a whole-scenario check names its key first ("network.peer_degree must be ..."):
            # report the file that set that key, which may be a parent in the extends chain
            named = message.split(" ", 1)[0]
            lines.append(f"{_origin_of(named, origin, default)}: {message}")
            continue
        value = _lookup(data, loc)
        section = _model_at(loc[:-1], data)
        field = section.model_fields.get(loc[-1]) if section else None
        hint = ""
        if field is not None and field.description:
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            details = [str(d) for d in (extra.get("unit", ""), _allowed(field)) if d]
            hint = f" ({'; '.join([field.description, *details])})"
        shown = "missing" if error["type"] == "missing" else f"= {shown_value(value)}"
        lines.append(f"{file}: {key} {shown}: {message}{hint}")
    return "\n".join(lines)


def shown_value(value: Any, limit: int = 60) -> str:
    """A value as an error message quotes it: its repr, cut short so the message stays one
    readable line (a 100,000-character label is not echoed back)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} characters"
    return f"{text[:limit]}... ({size})"


def get_dotted(scenario: BaseModel, key: str) -> Any:
    """The value at a dotted key (`behaviour.lapse_intercept`,
    `intervention_effects.mentoring.erosion_reduction`); KeyError names the missing part."""
    node: Any = scenario
    for part in key.split("."):
        if isinstance(node, BaseModel) and part in type(node).model_fields:
            node = getattr(node, part)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise KeyError(f"{key!r}: no setting {part!r} there")
    return node


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    """A scenario as given, or loaded from its file or shipped name."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def validate(
    data: dict[str, Any], origin: dict | None = None, source: Path | str = "<scenario>"
) -> Scenario:
    """Validate a scenario dictionary, raising ScenarioError with file and key on a mistake."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(describe_errors(err.errors(), data, origin or {}, source)) from None


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a scenario file, following `extends`, and apply dotted-key overrides.

    `path` is a file, or the name of a shipped scenario (`no_group`, `capacity_building`,
    `calibrated/indonesia_2015`) when no such file exists. Overrides look like
    {"run.replicates": 20, "group.coverage": 0.8}.
    """
    path = packaged.resolve(path, "scenario")
    origin: dict[str, Path] = {}
    data = _resolve(path, (), origin)
    if origin.get("name") != path.resolve():
        data["name"] = path.stem  # a name is not inherited: an unnamed child is its file's stem
    for key in ("label", "label_id", "description_id"):  # nor a label: it would name the parent
        if origin.get(key) != path.resolve():
            data.pop(key, None)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
        origin[key] = "command-line override"  # type: ignore[assignment]
    scenario = validate(data, origin, path.resolve())
    _check_files(scenario, path.resolve(), origin)
    return scenario


def _check_files(scenario: Scenario, path: Path, origin: dict) -> None:
    """Network files are relative to the scenario that names them; resolve and check them."""
    for key in ("edges_file", "nodes_file"):
        value = getattr(scenario.network, key)
        if value is None:
            continue
        file = _origin_of(f"network.{key}", origin, path)
        base = file.parent if isinstance(file, Path) else Path.cwd()
        resolved = (base / value).resolve()
        if not resolved.is_file():
            raise ScenarioError(
                f"{file}: network.{key} = {value!r}: file not found (looked for {resolved})"
            )
        setattr(scenario.network, key, str(resolved))
    if scenario.uncertainty.posterior is not None:
        value = scenario.uncertainty.posterior
        file = _origin_of("uncertainty.posterior", origin, path)
        base = file.parent if isinstance(file, Path) else Path.cwd()
        resolved = (base / value).resolve()
        if not resolved.is_file():
            raise ScenarioError(
                f"{file}: uncertainty.posterior = {value!r}: file not found (looked for "
                f"{resolved}); allowed: a Parquet file written by `kds-sim calibrate --method abc`"
            )
        scenario.uncertainty.posterior = str(resolved)
    if (
        scenario.network.edges_file
        and scenario.network.edges_file.endswith(".csv")
        and scenario.network.nodes_file is None
    ):
        raise ScenarioError(
            f"{path}: network.nodes_file is missing: a CSV edges_file needs a "
            "nodes CSV with columns id,role"
        )
