"""The data shipped inside the package (`sim/data/`): scenarios, networks, sweeps, behaviour
files, target sets and their sources. The repository's top-level `scenarios/` and `seeds/` are
links to the same files, so a clone and an installed wheel read one copy.

A shipped YAML file of `sim/data/scenarios/` is named by its path there without `.yaml`
(`january-2021`, `caravans/october-2020`, `sweeps/border-force-crowd`); a command also takes the
last part alone (`border-force-crowd`) when one file of the kinds it reads has it. `resolve` is
the one place where what the user typed (a path or a name) becomes a file."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sim.errors import CaravanError, OutputExistsError, Problem, ScenarioError
from sim.validation import did_you_mean
from sim.yamlio import load_yaml

SCENARIO_KINDS = ("scenario", "caravan context")
"""What `run`, `check`, `calibrate`, `validate` and `export` read."""
SWEEP_KINDS = ("sweep",)
BEHAVIOUR_KINDS = ("behaviour", "calibrated behaviour")
"""What `--behaviour` and `--search-from` read."""

# The kind of a shipped file, by the folder of sim/data/scenarios/ it is in.
_KIND_OF_FOLDER = {
    "": "scenario",
    "networks": "network",
    "sweeps": "sweep",
    "caravans": "caravan context",
    "caravans/fits": "calibrated behaviour",
}
_BEHAVIOUR_FILE = "caravans/behaviour"  # the behaviour every caravan context extends
_DESCRIPTION_CHARS = 100


@dataclass(frozen=True)
class ShippedFile:
    """One shipped YAML file: its name for the command line, its kind and its path."""

    name: str
    kind: str
    path: Path

    @property
    def description(self) -> str:
        """One line saying what the file holds (read from the file: see `describe`)."""
        return describe(self.path)


def data_dir() -> Path:
    """`sim/data/`, where the package's data files are installed."""
    root = resources.files("sim") / "data"
    if not isinstance(root, Path):  # a zip import: the loaders need real files
        raise CaravanError(
            "caravan-sim's data files are not on the file system (installed as a zip?); "
            "install the package as files"
        )
    return root


def scenarios_dir() -> Path:
    """The shipped scenarios, networks, sweeps and behaviour files."""
    return data_dir() / "scenarios"


def seeds_dir() -> Path:
    """The shipped reported figures: target sets (`targets/`) and their sources."""
    return data_dir() / "seeds"


def shipped_files() -> list[ShippedFile]:
    """Every shipped YAML file of `sim/data/scenarios/`, sorted by kind, then name."""
    root = scenarios_dir()
    found = []
    for path in root.rglob("*.yaml"):
        name = path.relative_to(root).with_suffix("").as_posix()
        folder = path.parent.relative_to(root).as_posix().removeprefix(".")
        kind = "behaviour" if name == _BEHAVIOUR_FILE else _KIND_OF_FOLDER.get(folder, "other")
        found.append(ShippedFile(name, kind, path))
    order = [*SCENARIO_KINDS, *BEHAVIOUR_KINDS, *SWEEP_KINDS, "network", "other"]
    return sorted(found, key=lambda f: (order.index(f.kind), f.name))


def shipped_name(path: Path) -> str | None:
    """The name of the shipped file at `path` (as `caravan scenarios` lists it), or None if
    `path` is not one."""
    here = path.resolve()
    return next((f.name for f in shipped_files() if f.path.resolve() == here), None)


def is_inside_data(path: Path) -> bool:
    """Whether `path` lies in the package's data directory (`data_dir`)."""
    return path.resolve().is_relative_to(data_dir().resolve())


def describe(path: Path) -> str:
    """One line on what a YAML file holds: its `description` key, or else the first sentence
    of the comment it starts with; cut to about a hundred characters."""
    description = load_yaml(path).data.get("description")
    text = description if isinstance(description, str) else _header_comment(path)
    text = " ".join(text.split())
    sentence_end = text.find(". ")
    if sentence_end >= 0:
        text = text[: sentence_end + 1]
    if len(text) > _DESCRIPTION_CHARS:
        text = text[: _DESCRIPTION_CHARS - 3].rsplit(" ", 1)[0] + " ..."
    return text


def _header_comment(path: Path) -> str:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#") or line.strip() == "#":
            break  # the first paragraph of the comment
        lines.append(line.lstrip("#").strip())
    return " ".join(lines)


def resolve(text: str | Path, kinds: Iterable[str] = SCENARIO_KINDS) -> Path:
    """The file the user means by `text`: a path as given when it ends in `.yaml`/`.yml` or is
    a file; else the shipped file of one of `kinds` with that name, or with that last part of
    its name if only one has it. Anything else is a ScenarioError with the closest name."""
    path = Path(text)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return path  # a path: a missing file is reported where it is read, as before
    name = str(text)
    kinds = tuple(kinds)
    candidates = [f for f in shipped_files() if f.kind in kinds]
    exact = [f for f in candidates if f.name == name]
    by_last_part = [f for f in candidates if f.name.rsplit("/", 1)[-1] == name]
    found = exact or by_last_part
    if len(found) == 1:
        return found[0].path
    if found:
        names = ", ".join(f.name for f in found)
        message = f"names more than one shipped file ({names}); give one of these names"
    else:
        known = {f.name for f in candidates} | {f.name.rsplit("/", 1)[-1] for f in candidates}
        message = (
            f"not a file, nor the name of a shipped {' or '.join(kinds)}"
            f"{did_you_mean(name, known)}; `caravan scenarios` lists the names"
        )
    raise ScenarioError([Problem(name, None, "", message)])


def copy_to(dest: Path, overwrite: bool = False) -> list[Path]:
    """Copy the shipped scenarios and seeds (target sets, sources) into `dest/scenarios/` and
    `dest/seeds/`, keeping their layout so that `extends:`, network `file:` and sweep `base:`
    paths still lead to the copies. Refuses to replace a file unless `overwrite`; returns the
    files written."""
    pairs = [
        (source, dest / folder / source.relative_to(root))
        for folder, root in (("scenarios", scenarios_dir()), ("seeds", seeds_dir()))
        for source in sorted(root.rglob("*"))
        if source.is_file() and "__pycache__" not in source.parts
    ]
    taken = [target for _, target in pairs if target.exists()]
    if taken and not overwrite:
        more = f" and {len(taken) - 1} more files exist" if len(taken) > 1 else " exists"
        raise OutputExistsError(
            f"{taken[0]}{more}; pass --overwrite to replace them, or choose another directory"
        )
    for source, target in pairs:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return [target for _, target in pairs]
