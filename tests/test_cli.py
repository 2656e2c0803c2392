"""One logging set-up: every command takes the same options and logs in one format."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from katib_py import cli

# a leaf command of each module, with the arguments it requires
COMMANDS = [
    ["validate", "x.yaml"],
    ["cluster", "up"],
    ["suggestion", "serve", "--algorithm", "random"],
    ["db-manager"],
    ["metrics-collector", "-t", "trial", "-m", "loss", "-s-db", "db:6789"],
    ["operator"],
    ["up"],
    ["demo"],
    ["watch", "exp"],
    ["plot", "exp", "--out", "exp.html"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_every_command_takes_the_logging_options(argv: list[str]) -> None:
    parser = cli.build_parser(argv)
    assert cli.log_level(parser.parse_args([*argv, "--log-level", "debug"])) == "DEBUG"
    default = cli.log_level(parser.parse_args(argv))
    verbose = cli.log_level(parser.parse_args([*argv, "-v"]))
    assert cli.LEVELS.index(verbose) == cli.LEVELS.index(default) - 1


def test_defaults_are_quiet_for_the_foreground_commands_and_info_for_servers() -> None:
    assert cli.log_level(cli.build_parser(["up"]).parse_args(["up"])) == "WARNING"
    assert cli.log_level(cli.build_parser(["up"]).parse_args(["up", "-v"])) == "INFO"
    assert cli.log_level(cli.build_parser(["operator"]).parse_args(["operator"])) == "INFO"


def test_setup_quiets_chatty_libraries_unless_debugging() -> None:
    cli.setup_logging("INFO")
    assert logging.getLogger("kopf").getEffectiveLevel() == logging.WARNING
    cli.setup_logging("DEBUG")
    assert logging.getLogger().level == logging.DEBUG
    for name in cli.CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_one_format_in_the_output() -> None:
    code = (
        "import logging; from katib_py import cli; "
        "cli.setup_logging('INFO'); logging.getLogger('x.y').info('hi')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.rstrip().endswith(" INFO x.y: hi")


def test_an_unknown_level_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser(["operator"]).parse_args(["operator", "--log-level", "loud"])
    assert "--log-level: invalid choice: 'LOUD' (choose from 'DEBUG', 'INFO', 'WARNING', 'ERROR')" in (
        capsys.readouterr().err
    )
