"""--data-dir and --config work before and after every command name, found by walking the click tree.

Each command's callback is swapped for a recorder, so the test sees the settings the command
would have run with, without starting any server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cmms import cli
from cmms.config import Settings


def _walk(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _walk(sub, (*path, name))


EVERY = list(_walk(cli.main))
LEAVES = [(path, cmd) for path, cmd in EVERY if not isinstance(cmd, click.Group)]


def _ids(items: list[tuple[tuple[str, ...], click.Command]]) -> list[str]:
    return [" ".join(path) or "cmms" for path, _ in items]


def _required_args(command: click.Command, a_file: Path) -> list[str]:
    """Plausible values for the command's required parameters, so that click accepts the call."""
    args: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        if isinstance(param.type, click.Choice):
            value = str(param.type.choices[0])
        elif isinstance(param.type, click.Path):
            value = str(a_file)
        elif isinstance(param.type, click.IntRange | click.types.IntParamType):
            value = "1"
        else:
            value = "x"
        args += [value] if isinstance(param, click.Argument) else [param.opts[0], value]
    return args


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Every leaf command records its resolved settings instead of running; logging is left alone."""
    seen: list[Settings] = []

    def record(*_: Any, **__: Any) -> None:
        seen.append(click.get_current_context().find_object(Settings))  # type: ignore[arg-type]

    for _, command in LEAVES:
        monkeypatch.setattr(command, "callback", record)
    monkeypatch.setattr(cli, "setup_logging", lambda *_: None)
    return seen


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "cmms.toml"
    path.write_text("[server]\nport = 9123\n[jobs]\nconcurrency = 3\n")
    return path


def _invoke(args: list[str]) -> None:
    result = CliRunner().invoke(cli.main, args, env={"CMMS_DATA_DIR": None, "CMMS_SERVER_PORT": None})
    assert result.exit_code == 0, f"cmms {' '.join(args)}: {result.output}{result.exception!r}"


def test_the_walk_finds_the_nested_commands() -> None:
    names = {" ".join(path) for path, _ in LEAVES}
    assert {"serve", "migrate", "tenant create", "user create", "search reindex", "demo"} <= names


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=_ids(LEAVES))
def test_both_positions_resolve_to_the_same_settings(
    path: tuple[str, ...], command: click.Command, recorded: list[Settings], config_file: Path, tmp_path: Path
) -> None:
    data_dir = str(tmp_path / "data")
    location = ["--data-dir", data_dir, "--config", str(config_file)]
    required = _required_args(command, config_file)
    _invoke([*location, *path, *required])
    _invoke([*path, *location, *required])
    before, after = recorded
    assert before == after
    assert after.data.dir == data_dir
    assert (after.server.port, after.jobs.concurrency) == (9123, 3)  # from the file


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=_ids(LEAVES))
def test_the_value_after_the_command_name_wins(
    path: tuple[str, ...], command: click.Command, recorded: list[Settings], config_file: Path, tmp_path: Path
) -> None:
    outer, inner = str(tmp_path / "outer"), str(tmp_path / "inner")
    required = _required_args(command, config_file)
    _invoke(["--data-dir", outer, *path, "--data-dir", inner, *required])
    assert recorded[0].data.dir == inner


def test_a_nested_group_takes_them_too(recorded: list[Settings], tmp_path: Path) -> None:
    _invoke(["--data-dir", str(tmp_path / "outer"), "tenant", "--data-dir", str(tmp_path / "mid"), "create", "x"])
    assert recorded[0].data.dir == str(tmp_path / "mid")


def test_a_missing_config_file_is_refused_after_the_command_name(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.main, ["migrate", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.parametrize(("path", "command"), EVERY, ids=_ids(EVERY))
def test_help_lists_them(path: tuple[str, ...], command: click.Command) -> None:
    result = CliRunner().invoke(cli.main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "--data-dir DIRECTORY" in result.output
    assert "--config FILE" in result.output
