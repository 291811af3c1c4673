"""Man pages and --help texts (issue 13, item 6): generated, current, warning-free, complete.

Each test names the bug it guards against.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from fannctl.cli import manpages, options
from fannctl.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
MAN = ROOT / "man"


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return manpages.pages()


def test_man_directory_is_up_to_date(generated: dict[str, str]) -> None:
    """Pages drifted from the CLI: regenerate with `make man` when this fails."""
    on_disk = {path.name: path.read_text() for path in MAN.glob("*.1")}
    assert sorted(on_disk) == sorted(generated), "man/ is out of date: run make man"
    stale = [name for name, text in generated.items() if on_disk[name] != text]
    assert not stale, f"man/ is out of date ({', '.join(stale)}): run make man"


def test_a_page_for_every_command_and_subcommand(generated: dict[str, str]) -> None:
    root = typer.main.get_command(app)
    expected = {"fannctl.1"}
    for name, command in root.commands.items():
        expected.add(f"fannctl-{name}.1")
        for sub in getattr(command, "commands", {}):
            expected.add(f"fannctl-{name}-{sub}.1")
    assert set(generated) == expected
    for required in ("fannctl-train.1", "fannctl-swarm-spawn.1", "fannctl-swarm-run.1"):
        assert required in generated


def test_each_page_has_its_own_name_line_and_sections(generated: dict[str, str]) -> None:
    """Every page had the same NAME line ('fannctl - FANN-compatible...')."""
    names = {}
    for file_name, text in generated.items():
        lines = text.splitlines()
        name_line = lines[lines.index(".SH NAME") + 1]
        page = file_name.removesuffix(".1").replace("-", "\\-")
        assert name_line.startswith(f"{page} \\- "), name_line
        names[file_name] = name_line
        for section in ("SYNOPSIS", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"):
            assert f".SH {section}" in lines, (file_name, section)
    assert len(set(names.values())) == len(names)
    train = generated["fannctl-train.1"]
    assert "fannctl\\-train \\- Train a network and save it" in train
    assert "fannctl train xor.h5 datasets/xor.data --algorithm rprop" in train


def test_every_option_is_on_its_page(generated: dict[str, str]) -> None:
    for path, command in manpages.commands():
        text = generated[f"{manpages.page_name(path)}.1"]
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option" and not param.hidden:
                for opt in param.opts:
                    bold = "\\fB" + opt.replace("-", "\\-") + "\\fR"
                    assert bold in text, (path, opt)


def test_groff_renders_every_page_without_warnings(tmp_path: Path) -> None:
    """Skipped only where groff is missing and CI is not set (CI installs it: make deps)."""
    groff = shutil.which("groff")
    if groff is None:
        if os.environ.get("CI"):
            pytest.fail("groff is missing under CI: make deps installs it")
        pytest.skip("groff is not installed")
    for page in sorted(MAN.glob("*.1")):
        done = subprocess.run(
            [groff, "-man", "-ww", "-Tutf8", str(page)], capture_output=True, text=True
        )
        assert done.returncode == 0 and done.stderr == "", (page.name, done.stderr)
        assert "fannctl" in done.stdout


def _variables_read_in_source() -> set[str]:
    patterns = (
        r"environ\.get\(\s*\"([A-Z][A-Z0-9_]+)\"",
        r"environ\[\"([A-Z][A-Z0-9_]+)\"\]",
        r"getenv\(\s*\"([A-Z][A-Z0-9_]+)\"",
        r"envvar=\"([A-Z][A-Z0-9_]+)\"",
        r"\bENV[A-Z_]*\s*=\s*\"([A-Z][A-Z0-9_]+)\"",
    )
    found: set[str] = set()
    for path in (ROOT / "fannctl").rglob("*.py"):
        text = path.read_text()
        for pattern in patterns:
            found.update(re.findall(pattern, text))
    from fannctl import threads

    return found | set(threads.VARIABLES)


def test_environment_section_names_every_variable_fannctl_reads() -> None:
    read = _variables_read_in_source()
    assert {"FANNCTL_DEVICE", "FANNCTL_DEBUG", "FANNCTL_NO_CACHE", "FANNCTL_KERNEL_DIR"} <= read
    missing = read - set(manpages.ENVIRONMENT)
    assert not missing, f"add to manpages.ENVIRONMENT: {sorted(missing)}"


def test_install_man_puts_pages_where_man_finds_them(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    subprocess.run(
        [make, "-s", "-C", str(ROOT), "install-man", f"PREFIX={tmp_path}"],
        check=True,
        capture_output=True,
    )
    installed = tmp_path / "share" / "man" / "man1" / "fannctl-train.1"
    assert installed.read_text() == (MAN / "fannctl-train.1").read_text()
    man = shutil.which("man")
    if man is not None:
        where = subprocess.run(
            [man, "-M", str(tmp_path / "share" / "man"), "-w", "fannctl-train"],
            capture_output=True,
            text=True,
        )
        assert where.stdout.strip() == str(installed)


# ---------------------------------------------------------------- help texts


def _all_options():
    for path, command in manpages.commands():
        context = typer._click.Context(command, info_name=" ".join(path))
        for param in command.get_params(context):
            if getattr(param, "param_type_name", "") != "option" or param.is_flag:
                continue
            if param.hidden or param.get_help_record(context) is None:
                continue
            yield " ".join(path), param, param.get_help_record(context)


def test_every_option_says_what_it_does_and_its_default() -> None:
    """--learning-rate, --momentum, the steepnesses and every RPROP, QuickProp,
    SARPROP and cascade parameter had neither a description nor a default; every
    command's and sub-command's options now say both (options.HELP/COMMAND_HELP)."""
    checked = set()
    for command, param, (words, help_text) in _all_options():
        assert len(help_text) > 20, (command, words)
        says_default = "default" in help_text.lower()
        assert says_default or param.required, (command, words, help_text)
        assert param.metavar, (command, words)
        assert param.metavar.replace(",", "").replace(".", "").isupper(), (command, words)
        checked.add(command)
    for command in ("fannctl create", "fannctl train", "fannctl cascade", "fannctl run"):
        assert command in checked


def test_stated_defaults_are_fanns() -> None:
    """The '(a new network: X)' in each help equals params.TrainingParams' default."""
    from fannctl import params

    defaults = params.TrainingParams()
    renamed = {
        "--momentum": "learning_momentum",
        "--algorithm": "training_algorithm",
        "--stop-function": "train_stop_function",
        "--error-function": "train_error_function",
    }
    names = {
        "training_algorithm": params.ALGORITHMS,
        "train_stop_function": params.STOP_FUNCTIONS,
        "train_error_function": params.ERROR_FUNCTIONS,
    }
    checked = 0
    for option, (_, help_text) in options.HELP.items():
        stated = re.search(r"\(a new network: ([^)]*)\)", help_text)
        if stated is None or option in ("--activation-functions",):
            continue
        field = renamed.get(option, option.lstrip("-").replace("-", "_"))
        if not hasattr(defaults, field):
            field = "cascade_" + field
        value = getattr(defaults, field)
        text = stated.group(1)
        if field in names:
            assert names[field][value] == text, option
        elif isinstance(value, list):
            assert [float(v) for v in text.split(", ")] == value, option
        elif isinstance(value, str):
            assert value == text, option
        else:
            assert float(text) == pytest.approx(value, rel=1e-6), option
        checked += 1
    assert checked >= 30


def test_activation_help_lists_every_name() -> None:
    from fannctl.activations import NAMES

    assert options.ACTIVATION_NAMES.split() == list(NAMES)
    from fannctl import params

    listed = options.HELP["--activation-functions"][1].split("network: ")[1].rstrip(").")
    assert [NAMES.index(n) for n in listed.split(", ")] == (
        params.TrainingParams().cascade_activation_functions
    )


def test_shell_completion_completes_commands_and_options() -> None:
    """`fannctl --install-completion` installs a script that asks fannctl itself."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), _FANNCTL_COMPLETE="complete_bash")
    command = [sys.executable, "-c", "from fannctl.cli.main import main; main()"]
    words = {"fannctl tr": "1", "fannctl run x.h5 - --input-f": "4"}
    answers = []
    for line, index in words.items():
        done = subprocess.run(
            command,
            env={**env, "COMP_WORDS": line, "COMP_CWORD": index},
            capture_output=True,
            text=True,
        )
        answers.append(done.stdout.split())
    assert answers == [["train"], ["--input-format"]]
    script = subprocess.run(
        [*command, "--show-completion", "bash"],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
    )
    assert "_FANNCTL_COMPLETE=complete_bash" in script.stdout
