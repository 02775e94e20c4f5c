"""numba's compiled kernel is cached under a fingerprint of every source it compiles, so editing a
rule the passes inline recompiles them (numba's own cache key is the passes' file alone)."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

from sim.kernels import cache

REPO = Path(__file__).resolve().parent.parent
RUN = """
import json, sys
import sim
scenario = sim.load(sys.argv[1], ["population.size=300"])
outcomes = sim.run(scenario, seed=0, threads=False).outcomes
print(json.dumps({"sim": sim.__file__, "outcomes": outcomes}))
"""


def test_every_sim_module_the_kernel_imports_is_fingerprinted() -> None:
    covered = {path.resolve() for path in cache.KERNEL_SOURCES}
    for path in (REPO / "sim" / "kernels").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sim."):
                parts = (node.module or "").split(".")[1:]
                module = REPO / "sim" / Path(*parts).with_suffix(".py")
                package = REPO / "sim" / Path(*parts) / "__init__.py"
                assert module.resolve() in covered or package.resolve() in covered, (
                    f"{path.name} imports {node.module}, which the fingerprint leaves out"
                )


def test_fingerprint_follows_every_source(tmp_path: Path) -> None:
    copies = []
    for path in cache.KERNEL_SOURCES:
        copy = tmp_path / path.relative_to(REPO)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, copy)
        copies.append(copy)
    before = cache.fingerprint(tuple(copies))
    assert before == cache.fingerprint()
    for copy in copies:
        text = copy.read_text(encoding="utf-8")
        copy.write_text(text + "# edited\n", encoding="utf-8")
        assert cache.fingerprint(tuple(copies)) != before, copy.name
        copy.write_text(text, encoding="utf-8")


def test_editing_an_inlined_rule_recompiles_the_passes(tmp_path: Path) -> None:
    """Run a copy of the package, edit a rule that only the passes' compiled code holds, and run
    again in a new process: the new rule takes effect (numba alone would reuse the old code)."""
    shutil.copytree(REPO / "sim", tmp_path / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    scenario = REPO / "tests" / "baseline" / "files" / "user-0.1.yaml"
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}

    def outcomes() -> dict[str, int]:
        done = subprocess.run(
            [sys.executable, "-c", RUN, str(scenario)],
            cwd=tmp_path,  # `python -c` looks in its working directory first
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        found = json.loads(done.stdout.splitlines()[-1])
        assert Path(found["sim"]).is_relative_to(tmp_path)  # the copy, not this checkout
        return dict(found["outcomes"])

    first = outcomes()
    rules = tmp_path / "sim" / "kernels" / "rules.py"
    text = rules.read_text(encoding="utf-8")
    slower = text.replace("    return speed\n", "    return speed * 0.5\n")
    assert slower != text
    rules.write_text(slower, encoding="utf-8")
    second = outcomes()
    assert second["reached_mexican_border"] < first["reached_mexican_border"]
    assert len(list((tmp_path / "sim" / "kernels" / "__pycache__").glob(cache.PREFIX + "*"))) == 1
