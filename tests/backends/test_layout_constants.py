"""One source for each constant: the kernels' #defines agree with the Python side."""

from __future__ import annotations

import re

import pytest

from fannctl import activations
from fannctl.backends.opencl import kernels, layout
from fannctl.params import Algorithm

PREFIXES = ("HP_", "IP_", "NS_", "IS_", "ST_", "MODE_", "L_")


def defines() -> dict[str, int]:
    """The shared integer #defines of the kernel files (layout slots, algorithm and
    function ids; tuning widths such as VW differ by #if branch and are left out)."""
    found: dict[str, int] = {}
    for path in kernels.kernel_files():
        for name, value in re.findall(
            r"^\s*#define\s+([A-Z][A-Z0-9_]*)\s+(-?\d+)\b", path.read_text(), flags=re.M
        ):
            if name.startswith((*PREFIXES, "ALG_", "A_")):
                assert found.setdefault(name, int(value)) == int(value), f"{name} twice"
    return found


def test_layout_slots_match_common_cl():
    cl = {name: value for name, value in defines().items() if name.startswith(PREFIXES)}
    py = {
        name: getattr(layout, name)
        for name in dir(layout)
        if name.startswith(PREFIXES) and isinstance(getattr(layout, name), int)
    }
    assert cl == py


def test_algorithm_ids_match_the_enum():
    cl = {name[4:]: value for name, value in defines().items() if name.startswith("ALG_")}
    assert cl == {member.name: int(member) for member in Algorithm}


@pytest.mark.parametrize("name", activations.NAMES)
def test_activation_ids_match(name):
    kernel_names = {"linear_piece_rect": "RELU", "linear_piece_rect_leaky": "LEAKY_RELU"}
    define = "A_" + kernel_names.get(name, name.upper())
    assert defines()[define] == activations.NAMES.index(name)


def test_a_changed_define_is_caught(tmp_path, monkeypatch):
    """The check can fail: a kernel folder whose HP_LR moved does not match."""
    import shutil

    folder = tmp_path / "kernels"
    shutil.copytree(kernels.kernel_dir(), folder)
    common = folder / "common.cl"
    common.write_text(common.read_text().replace("#define HP_LR 0", "#define HP_LR 5"))
    monkeypatch.setenv("FANNCTL_KERNEL_DIR", str(folder))
    with pytest.raises(AssertionError):
        test_layout_slots_match_common_cl()
