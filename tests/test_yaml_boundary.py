"""The YAML boundary (`sim.yamlio`): YAML 1.2 core-schema scalars, dates left to the schemas,
merge keys, and bombs, odd keys, tags and odd bytes refused at file, line and key."""

from __future__ import annotations

import math
import re
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import TypeAdapter

from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario import load
from sim.schema import Timestamp
from sim.yamlio import MAX_ALIASED_VALUES, MAX_DEPTH, MAX_FILE_BYTES, load_yaml, parse_yaml

ROOT = Path(__file__).resolve().parents[1]
JANUARY = ROOT / "scenarios" / "january-2021.yaml"
SHIPPED = sorted([*ROOT.glob("scenarios/**/*.yaml"), *ROOT.glob("seeds/**/*.yaml")])


def data_of(text: str) -> dict[str, Any]:
    return parse_yaml(text, "f.yaml").data


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_yaml(text, "f.yaml")
    return str(caught.value)


def child(tmp_path: Path, body: str) -> Path:
    """A scenario that extends the shipped January 2021 one and adds `body`."""
    path = tmp_path / "child.yaml"
    path.write_text(f"extends: {JANUARY}\n{body}", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# Scalars: the YAML 1.2 core schema
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("014", 14),  # YAML 1.1: octal 12
        ("-014", -14),
        ("0o14", 12),
        ("0x1F", 31),
        ("5e-4", 0.0005),  # YAML 1.1: the text '5e-4'
        ("1e3", 1000.0),
        ("+2.5", 2.5),
        (".5", 0.5),
        ("2:54", "2:54"),  # YAML 1.1: sexagesimal 174
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("yes", "yes"),  # YAML 1.1: true
        ("no", "no"),
        ("on", "on"),
        ("Off", "Off"),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("2021-01-14", "2021-01-14"),  # YAML 1.1: a date; the schemas parse the text
        ("2021-01-14T06:00:00-06:00", "2021-01-14T06:00:00-06:00"),
        ("'014'", "014"),
        ("!!str 2.5", "2.5"),
        ("!!float 1", 1.0),
        ("!!timestamp '2021-01-14 06:00:00'", "2021-01-14 06:00:00"),  # as PyYAML dumps it
    ],
)
def test_core_schema_scalars(written: str, read: Any) -> None:
    value = data_of(f"a: {written}\n")["a"]
    assert value == read
    assert type(value) is type(read)


@pytest.mark.parametrize(("written", "sign"), [(".inf", 1), ("-.Inf", -1), ("+.INF", 1)])
def test_infinities_still_read_as_floats(written: str, sign: int) -> None:
    # The schemas refuse them where a finite number is needed; reading keeps them recognisable.
    assert data_of(f"a: {written}\n")["a"] == sign * math.inf


def test_nan_still_reads_as_a_float() -> None:
    assert math.isnan(data_of("a: .nan\n")["a"])


def test_keys_are_the_names_as_written() -> None:
    # YAML 1.1 read `NO:` (Norway) as false and `014:` as 12.
    assert list(data_of("NO: 1\n014: 2\ntrue: 3\n1.50: 4\n")) == ["NO", "014", "true", "1.50"]


def test_leading_zero_reaches_the_scenario_as_decimal(tmp_path: Path) -> None:
    path = child(tmp_path, "health:\n  quarantine_days: 014\n")
    assert load(path).health.quarantine_days == 14


def test_sexagesimal_is_refused_by_the_schema_at_its_line(tmp_path: Path) -> None:
    path = child(tmp_path, "time:\n  duration_h: 2:54\n")
    with pytest.raises(ScenarioError) as caught:
        load(path)
    assert (
        str(caught.value)
        == f"{path}:3: time.duration_h: Input should be a valid number (got '2:54')"
    )


def test_set_reads_values_as_files_do() -> None:
    scenario = load(
        JANUARY, overrides=["health.quarantine_days=014", "movement.walking_speed_kmh=5e-1"]
    )
    assert scenario.health.quarantine_days == 14
    assert scenario.movement.walking_speed_kmh == 0.5


# ------------------------------------------------------------------------------------------
# Dates and times: text in YAML, parsed by the schema
# ------------------------------------------------------------------------------------------

MINUS_6 = timezone(timedelta(hours=-6))


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("2021-01-14T06:00:00-06:00", datetime(2021, 1, 14, 6, tzinfo=MINUS_6)),
        ("2021-01-14 06:00:00 -06:00", datetime(2021, 1, 14, 6, tzinfo=MINUS_6)),
        ("2021-01-14 06:00", datetime(2021, 1, 14, 6)),
        ("2021-1-4t6:05:07.25Z", datetime(2021, 1, 4, 6, 5, 7, 250000, tzinfo=UTC)),
        ("2021-01-14T06:00-0600", datetime(2021, 1, 14, 6, tzinfo=MINUS_6)),
    ],
)
def test_timestamps_as_written(written: str, meant: datetime) -> None:
    got = TypeAdapter(Timestamp).validate_python(written)
    assert got == meant
    assert got.utcoffset() == meant.utcoffset()


def test_timestamps_read_as_yaml_1_1_read_them() -> None:
    written = "2021-01-14T06:00:00-06:00"
    assert TypeAdapter(Timestamp).validate_python(written) == yaml.safe_load(f"a: {written}")["a"]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2021-02-30T06:00:00-06:00", "not a real date and time: day is out of range for month"),
        ("2021-13-01T06:00:00-06:00", "not a real date and time: month must be in 1..12"),
        ("0000-01-14T06:00:00-06:00", "not a real date and time: year 0 is out of range"),
        ("2021-01-14T25:00:00-06:00", "not a real date and time: hour must be in 0..23"),
        ("2021-01-14T06:00:00+25:00", "UTC offset +25:00 is not a real one (-23:59 to +23:59)"),
        ("2021-01-14", "give a time of day too, like 2021-01-14T06:00:00-06:00"),
        ("next monday", "expected a date and time like 2021-01-14T06:00:00-06:00"),
    ],
)
def test_impossible_times_are_located_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], written: str, message: str
) -> None:
    path = child(tmp_path, f"time:\n  start: {written}\n")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.replace("\n", "") == f"error: {path}:3: time.start: {message} (got '{written}')"


def test_impossible_day_in_a_rule_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = child(
        tmp_path,
        "authorities:\n  vado_hondo_blockade:\n    active:\n      end: 2021-02-30T00:00:00-06:00\n",
    )
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert f"{path}:5: authorities.vado_hondo_blockade.active.end: not a real date" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------------
# Merge keys and anchors; duplicate keys
# ------------------------------------------------------------------------------------------


def test_merge_key_with_an_explicit_key_overriding() -> None:
    data = data_of("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 9\n")
    assert data["c"] == {"x": 1, "y": 9}


def test_merge_list_first_mapping_wins() -> None:
    data = data_of("a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc: {<<: [*a, *b]}\n")
    assert data["c"] == {"x": 1, "y": 2, "z": 4}


def test_anchor_and_alias_copy_a_value() -> None:
    assert data_of("a: &w [1, 2]\nb: *w\n")["b"] == [1, 2]


def test_merge_keys_in_a_scenario(tmp_path: Path) -> None:
    path = child(
        tmp_path,
        "x-window: &window\n  start: 2021-01-16T19:00:00-06:00\n  end: 2021-01-17T19:00:00-06:00\n"
        "authorities:\n  vado_hondo_blockade:\n    active:\n      <<: *window\n"
        "      end: 2021-01-18T19:00:00-06:00\n",
    )
    # `x-window` is not a scenario key: the schema names it, at its line, not a crash.
    with pytest.raises(ScenarioError) as caught:
        load(path)
    assert str(caught.value).startswith(f"{path}:2: x-window: unknown key 'x-window'")


def test_merged_window_is_used(tmp_path: Path) -> None:
    base = load(JANUARY)
    start = base.authorities["vado_hondo_blockade"].active.start
    path = child(
        tmp_path,
        f"authorities:\n  vado_hondo_blockade:\n    active:\n"
        f"      <<: {{start: {start.isoformat()}, end: 2021-01-18T19:00:00-06:00}}\n"
        "      end: 2021-01-19T19:00:00-06:00\n",
    )
    active = load(path).authorities["vado_hondo_blockade"].active
    assert (active.start, active.end) == (start, datetime(2021, 1, 19, 19, tzinfo=MINUS_6))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3: a: key given twice in one mapping"),
        (
            "a: &a 1\nb:\n  <<: *a\n",
            "f.yaml:3: b.<<: a merge key takes a mapping or a list of mappings "
            "(an alias such as *defaults, or [*a, *b])",
        ),
        ("a: &a\n  x: 1\n  <<: *a\n", "f.yaml:3: a.<<: a mapping merges itself"),
        ("a: *nope\n", "f.yaml:1: a: not valid YAML: found undefined alias 'nope'"),
    ],
)
def test_bad_merges_and_duplicates(text: str, message: str) -> None:
    assert error_of(text) == message


# ------------------------------------------------------------------------------------------
# Bombs: size, aliases, depth
# ------------------------------------------------------------------------------------------


def billion_laughs() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_refused_fast_and_small() -> None:
    tracemalloc.start()
    began = time.perf_counter()
    message = error_of(billion_laughs())
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # 9**9 values once expanded; refused at the first alias whose expansion crosses the limit
    assert message == (
        f"f.yaml:5: e[0]: aliases expand to more than {MAX_ALIASED_VALUES:,} values "
        "(a 'billion laughs' file?)"
    )
    assert elapsed < 1.0
    assert peak < 20e6


def test_alias_of_itself_is_refused() -> None:
    assert error_of("a: &a [*a]\n") == (
        f"f.yaml:1: a[0][0][0]...: aliases nest deeper than {MAX_DEPTH} levels"
    )


def test_deep_flow_list_is_refused_without_recursion_error() -> None:
    began = time.perf_counter()
    message = error_of("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert message == f"f.yaml:1: a: nested deeper than {MAX_DEPTH} levels"
    assert time.perf_counter() - began < 1.0


def test_deep_block_mapping_is_refused_at_its_line() -> None:
    text = "a:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 100)) + "  " * 100 + "v: 1\n"
    assert error_of(text) == f"f.yaml:64: a.k1.k2.k3...: nested deeper than {MAX_DEPTH} levels"


def test_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" + "#" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_yaml(path)
    assert str(caught.value) == f"{path}: file is 5.0 MB; YAML files are read up to 5 MB"


def test_too_many_values_are_refused() -> None:
    message = error_of("a: [" + ", ".join(["1"] * 60_000) + "]\n")
    # the root, the key, the list and 49,997 items make 50,000
    assert message == "f.yaml:1: a[49997]: more than 50,000 values in one file"


# ------------------------------------------------------------------------------------------
# Keys, tags and bytes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a:\n  ? [x, y]\n  : 1\n", "f.yaml:2: a: keys must be plain names, not a list"),
        ("a:\n  ~: 1\n", "f.yaml:2: a: keys must be plain names, not null"),
        (
            "a: 1\nb: !!python/object:os.system {x: 1}\n",
            "f.yaml:2: b: tag !!python/object:os.system is not allowed; write plain values "
            "(the tags !!str, !!int, !!float, !!bool, !!null and !!timestamp are)",
        ),
        (
            "a: !!binary aGVsbG8=\n",
            "f.yaml:1: a: tag !!binary is not allowed; write plain values "
            "(the tags !!str, !!int, !!float, !!bool, !!null and !!timestamp are)",
        ),
        ("a: !!int 2:54\n", "f.yaml:1: a: '2:54' is not a valid int"),
        (
            "a: 1\nb: x\x00y\n",
            "f.yaml:2: b: not valid YAML: character U+0000 is not allowed in a text file",
        ),
    ],
)
def test_odd_keys_tags_and_bytes(text: str, message: str) -> None:
    assert error_of(text) == message


def test_bom_and_crlf_read_with_right_lines(tmp_path: Path) -> None:
    path = tmp_path / "windows.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\r\nb:\r\n  c: x\r\n  c: y\r\n")
    with pytest.raises(ScenarioError) as caught:
        load_yaml(path)
    assert str(caught.value) == f"{path}:4: b.c: key given twice in one mapping"
    path.write_bytes(b"\xef\xbb\xbfa: 1\r\nb:\r\n  c: x\r\n")
    assert load_yaml(path).data == {"a": 1, "b": {"c": "x"}}


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    with pytest.raises(ScenarioError) as caught:
        load_yaml(path)
    assert (
        str(caught.value) == f"{path}:2: b: not UTF-8 text (invalid continuation byte at byte 11)"
    )


def test_syntax_error_names_the_key_it_stands_under() -> None:
    assert error_of("a: 1\nmovement:\n  speeds: [1, 2]]\n").startswith(
        "f.yaml:3: movement.speeds: not valid YAML:"
    )


# ------------------------------------------------------------------------------------------
# Every shipped file reads as it did under YAML 1.1
# ------------------------------------------------------------------------------------------


_YAML_1_1_TIMESTAMP = re.compile(
    r"\d{4}-\d\d?-\d\d?(?:[Tt]|[ \t]+)\d\d?:\d\d:\d\d(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d\d?(?::\d\d)?))?"
)


def _as_1_1_read_it(value: Any) -> Any:
    """Our reading of a shipped value, mapped the way YAML 1.1 typed it: dates and times (its
    timestamps need seconds)."""
    if isinstance(value, dict):
        return {k: _as_1_1_read_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_1_1_read_it(v) for v in value]
    if isinstance(value, str) and _YAML_1_1_TIMESTAMP.fullmatch(value):
        return TypeAdapter(Timestamp).validate_python(value)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _keys_as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _keys_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keys_as_text(v) for v in value]
    return value


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_files_read_as_yaml_1_1_read_them(path: Path) -> None:
    ours = _as_1_1_read_it(load_yaml(path).data)
    old = _keys_as_text(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert ours == old


@pytest.mark.parametrize("path", sorted(ROOT.glob("scenarios/*.yaml")), ids=lambda p: p.name)
def test_resolved_scenario_round_trips(tmp_path: Path, path: Path) -> None:
    scenario = load(path)
    written = tmp_path / "resolved.yaml"
    written.write_text(scenario.to_yaml(), encoding="utf-8")
    again = load(written)
    assert again.model_dump(exclude={"source_file"}) == scenario.model_dump(exclude={"source_file"})


def test_a_set_value_that_is_not_yaml_names_the_option_and_key() -> None:
    with pytest.raises(ScenarioError) as caught:
        load(JANUARY, overrides=["route_choice.destinations=[tecun_uman"])
    assert str(caught.value).startswith(
        "--set route_choice.destinations=[tecun_uman: route_choice.destinations: not valid YAML:"
    )
