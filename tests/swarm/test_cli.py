"""`fannctl swarm spawn/run/export` as a user drives them.

Guards against: a one-agent swarm drifting from `fannctl train`, bad input
changing the swarm file or leaving a traceback, round output on stdout
without --json, and stored state that does not resume exactly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fannctl import io
from fannctl.cli.main import app
from fannctl.data import TrainingData
from fannctl.swarm import load_swarm

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "datasets" / "xor.data")
THYROID = str(ROOT / "datasets" / "thyroid.train.gz")
runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def ok(*args: str):
    result = invoke(*args)
    assert result.exit_code == 0, f"fannctl {' '.join(args)}: {result.output}"
    return result


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("algorithm", ["rprop", "quickprop", "batch", "incremental"])
def test_one_agent_swarm_equals_fannctl_train(tmp_path: Path, algorithm: str):
    """spawn --from NET, run 1 round of E epochs, export = `fannctl train` for E epochs."""
    net = tmp_path / "net.h5"
    ok(
        "create",
        str(net),
        "--layers",
        "2,4,1",
        "--hidden-activation",
        "sigmoid_symmetric",
        "--output-activation",
        "sigmoid_symmetric",
        "--seed",
        "5",
    )
    trained = tmp_path / "trained.h5"
    ok(
        "train",
        str(net),
        XOR,
        "--algorithm",
        algorithm,
        "--max-epochs",
        "60",
        "--desired-error",
        "0",
        "--output",
        str(trained),
        "--quiet",
    )
    swarm = tmp_path / "s.h5"
    ok("swarm", "spawn", str(swarm), "--agents", "1", "--from", str(net), "--quiet")
    ok(
        "swarm",
        "run",
        str(swarm),
        XOR,
        "--rounds",
        "1",
        "--epochs-per-round",
        "60",
        "--algorithm",
        algorithm,
        "--quiet",
    )
    exported = tmp_path / "agent.h5"
    ok("swarm", "export", str(swarm), str(exported), "--agent", "0", "--quiet")
    expected = io.load_network(str(trained))
    got = io.load_network(str(exported))
    np.testing.assert_array_equal(got.weights, expected.weights)
    assert got.params.algorithm_name == algorithm


def test_spawn_vary_draws_within_ranges(tmp_path: Path):
    """--vary gives each agent its own value inside the range (log ranges too)."""
    path = tmp_path / "s.h5"
    ok(
        "swarm",
        "spawn",
        str(path),
        "--agents",
        "50",
        "--layers",
        "3,4,2",
        "--seed",
        "7",
        "--vary",
        "learning_rate=0.3:1.0",
        "--vary",
        "rprop_delta_max=1:100:log",
        "--vary",
        "hidden_steepness=0.25:1.0",
        "--vary",
        "algorithm=rprop,quickprop",
        "--topology",
        "ring:2",
        "--quiet",
    )
    swarm = load_swarm(str(path))
    lr = swarm.hyper["learning_rate"]
    assert lr.min() >= 0.3 and lr.max() <= 1.0 and np.unique(lr).size == 50
    dmax = swarm.hyper["rprop_delta_max"]
    assert dmax.min() >= 1 and dmax.max() <= 100 and np.median(dmax) < 50  # log-uniform
    hidden = swarm.steepness[:, swarm.template.layer_first()[1]]
    assert hidden.min() >= 0.25 and hidden.max() <= 1.0
    assert set(np.unique(swarm.algorithm)) == {2, 3}
    assert swarm.topology.spec == "ring:2" and (swarm.topology.degree() == 4).all()
    assert not np.array_equal(swarm.weights[0], swarm.weights[1])


def test_spawn_from_with_noise(tmp_path: Path):
    """--from copies the network into every agent; --noise moves each weight by at most S."""
    net = tmp_path / "net.h5"
    ok("create", str(net), "--layers", "2,3,1", "--seed", "1")
    path = tmp_path / "s.h5"
    ok(
        "swarm",
        "spawn",
        str(path),
        "--agents",
        "4",
        "--from",
        str(net),
        "--noise",
        "0.01",
        "--quiet",
    )
    base = io.load_network(str(net)).weights
    swarm = load_swarm(str(path))
    diff = np.abs(swarm.weights - base)
    assert diff.max() <= 0.01 + 1e-7 and diff.max() > 0
    other = tmp_path / "t.h5"
    refused = invoke(
        "swarm", "spawn", str(other), "--from", str(net), "--hidden-activation", "linear"
    )
    assert refused.exit_code == 2 and "--from NET takes its shape" in refused.stderr
    assert not other.exists()


def test_run_twice_equals_once_for_double_rounds(tmp_path: Path):
    """Stored state resumes exactly: R rounds twice = 2R rounds once, for every strategy."""
    for strategy, topology in [
        ("evolve", "ring:1"),
        ("average", "grid"),
        ("pso", "random:2"),
        ("independent", "star"),
    ]:
        a, b = tmp_path / f"a-{strategy}.h5", tmp_path / f"b-{strategy}.h5"
        for path in (a, b):
            ok(
                "swarm",
                "spawn",
                str(path),
                "--agents",
                "12",
                "--layers",
                "2,3,1",
                "--topology",
                topology,
                "--vary",
                "learning_rate=0.2:0.9",
                "--vary",
                "algorithm=rprop,quickprop,sarprop",
                "--seed",
                "3",
                "--quiet",
            )
        common = [
            "--strategy",
            strategy,
            "--epochs-per-round",
            "7",
            "--data-split",
            "bootstrap" if strategy != "pso" else "full",
            "--quiet",
        ]
        ok("swarm", "run", str(a), XOR, "--rounds", "2", *common)
        ok("swarm", "run", str(a), XOR, "--rounds", "2", *common)
        ok("swarm", "run", str(b), XOR, "--rounds", "4", *common)
        sa, sb = load_swarm(str(a)), load_swarm(str(b))
        np.testing.assert_array_equal(sa.weights, sb.weights, err_msg=strategy)
        np.testing.assert_array_equal(sa.hyper["learning_rate"], sb.hyper["learning_rate"])
        assert sa.round == sb.round == 4
        assert [h["best_error"] for h in sa.history] == [h["best_error"] for h in sb.history]


def test_chunk_size_does_not_change_results(tmp_path: Path):
    """Per-agent random streams: --chunk-agents 1 and the default give the same swarm."""
    paths = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for path, chunk in zip(paths, ["1", "1000"], strict=True):
        ok(
            "swarm",
            "spawn",
            str(path),
            "--agents",
            "9",
            "--layers",
            "2,3,1",
            "--seed",
            "2",
            "--algorithm",
            "sarprop",
            "--topology",
            "ring:1",
            "--quiet",
        )
        ok(
            "swarm",
            "run",
            str(path),
            XOR,
            "--strategy",
            "evolve",
            "--rounds",
            "3",
            "--epochs-per-round",
            "10",
            "--chunk-agents",
            chunk,
            "--quiet",
        )
    a, b = (load_swarm(str(p)) for p in paths)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_json_lines_and_quiet(tmp_path: Path):
    """--json: one JSON document per round on stdout; --quiet: nothing on stderr."""
    path = tmp_path / "s.h5"
    ok("swarm", "spawn", str(path), "--agents", "6", "--layers", "2,3,1", "--quiet")
    result = ok(
        "swarm",
        "run",
        str(path),
        XOR,
        "--test",
        XOR,
        "--rounds",
        "3",
        "--json",
        "--quiet",
        "--epochs-per-round",
        "5",
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["round"] for r in rows] == [1, 2, 3]
    assert all(r["best_error"] <= r["median_error"] <= r["worst_error"] for r in rows)
    assert all("ensemble_error" in r and "spread" in r for r in rows)
    assert result.stderr == ""
    lines = ok("swarm", "run", str(path), XOR, "--rounds", "2")
    assert lines.stdout == ""
    assert lines.stderr.count("Round ") == 2 and "Best error:" in lines.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "{s}", THYROID], "outputs"),
        (["run", "{s}", XOR, "--strategy", "gossip"], "unknown strategy"),
        (["run", "{s}", XOR, "--data-split", "shard"], "shards"),
        (["run", "{s}", XOR, "--data-split", "halves"], "--data-split"),
        (["run", "{s}", XOR, "--algorithm", "cascade"], "a swarm trains with"),
        (["run", "{s}", XOR, "-a", "incremental", "--data-split", "bootstrap"], "every pattern"),
        (["run", "{s}", str(ROOT / "datasets" / "missing.data")], "no such file"),
        (["export", "{s}", "{out}", "--agent", "99"], "does not exist"),
        # the device is opened while a forked child reads the swarm file
        (["run", "{s}", XOR, "--device", "cl:99"], "no OpenCL device cl:99"),
    ],
)
def test_bad_input_leaves_swarm_untouched(tmp_path: Path, args, message):
    """One line on stderr, exit 2, no traceback, the swarm file byte for byte as before."""
    path = tmp_path / "s.h5"
    ok("swarm", "spawn", str(path), "--agents", "8", "--layers", "2,3,1", "--quiet")
    before = digest(path)
    out = tmp_path / "out.h5"
    result = invoke("swarm", *[a.format(s=path, out=out) for a in args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert digest(path) == before
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--topology", "wheel"], "unknown topology"),
        (["--topology", "ring:x"], "not a whole number"),
        (["--vary", "colour=1:2"], "unknown parameter"),
        (["--vary", "learning_rate=2:1"], "LO <= HI"),
        (["--vary", "algorithm=rprop,cascade"], "cannot train in a swarm"),
        (["--from", "{net}"], "not both"),
    ],
)
def test_bad_spawn_options(tmp_path: Path, args, message):
    """Unknown topology or --vary parameter: exit 2, one line, no file created."""
    path = tmp_path / "s.h5"
    net = tmp_path / "net.h5"
    ok("create", str(net), "--layers", "2,3,1")
    args = [a.format(net=net) for a in args]
    result = invoke("swarm", "spawn", str(path), "--agents", "4", "--layers", "2,3,1", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert not path.exists()


def test_run_and_info_accept_a_swarm_file(tmp_path: Path):
    """`fannctl run` on a swarm: the ensemble mean, --vote, --agent best (= the exported
    agent run as a network); `fannctl info` describes it."""
    path = tmp_path / "s.h5"
    ok(
        "swarm",
        "spawn",
        str(path),
        "--agents",
        "7",
        "--layers",
        "2,3,1",
        "--seed",
        "4",
        "--hidden-activation",
        "sigmoid_symmetric",
        "--output-activation",
        "sigmoid_symmetric",
        "--topology",
        "ring:1",
        "--quiet",
    )
    ok(
        "swarm",
        "run",
        str(path),
        XOR,
        "--strategy",
        "evolve",
        "--rounds",
        "2",
        "--epochs-per-round",
        "40",
        "--quiet",
    )
    population = load_swarm(str(path))
    data = io.load_data(XOR)
    mean = np.loadtxt(ok("run", str(path), XOR).stdout.splitlines()).reshape(-1, 1)
    agents = np.stack(
        [
            np.loadtxt(ok("run", str(path), XOR, "--agent", str(a)).stdout.splitlines())
            for a in range(7)
        ]
    )
    np.testing.assert_allclose(mean[:, 0], agents.mean(axis=0), rtol=1e-5, atol=1e-6)
    votes = np.loadtxt(ok("run", str(path), XOR, "--vote").stdout.splitlines())
    np.testing.assert_array_equal(votes, np.where((agents > 0).sum(axis=0) > 3.5, 1.0, -1.0))
    exported = tmp_path / "best.h5"
    ok("swarm", "export", str(path), str(exported), "--agent", "best", "--quiet")
    best = ok("run", str(path), XOR, "--agent", "best", "--metrics", "--json").stdout
    plain = ok("run", str(exported), XOR, "--metrics", "--json").stdout
    assert json.loads(best) == json.loads(plain)
    assert json.loads(best)["mse"] == pytest.approx(population.errors.min(), rel=1e-5)
    ensemble = json.loads(ok("run", str(path), XOR, "--metrics", "--json").stdout)
    assert ensemble["patterns"] == data.num_patterns and ensemble["mse"] >= 0
    summary = json.loads(ok("info", str(path), "--json").stdout)
    assert summary["kind"] == "swarm" and summary["agents"] == 7 and summary["rounds"] == 2
    text = ok("info", str(path)).stdout
    assert "7 agents" in text and "topology ring:1" in text and "lineage:" in text
    bad = invoke("run", str(exported), XOR, "--vote")
    assert bad.exit_code == 2 and "swarm files" in bad.stderr


def test_strategies_chain_through_the_file(tmp_path: Path):
    """evolve, then pso, then average: through the file (three processes' worth of
    save and load) = the same three runs on one swarm in memory."""
    from fannctl import swarm

    path = tmp_path / "s.h5"
    ok(
        "swarm",
        "spawn",
        str(path),
        "--agents",
        "10",
        "--layers",
        "2,3,1",
        "--seed",
        "6",
        "--topology",
        "ring:2",
        "--vary",
        "learning_rate=0.2:0.9",
        "--vary",
        "algorithm=rprop,quickprop",
        "--quiet",
    )
    memory = load_swarm(str(path))
    rng = np.random.default_rng(0)
    inputs = rng.uniform(-1, 1, (40, 2))
    data = TrainingData(inputs, (inputs[:, :1] * inputs[:, 1:] > 0).astype(float))
    data_path = str(tmp_path / "quadrants.data")
    io.save_data(data, data_path, exact=True)
    data = io.load_data(data_path)
    for strategy, split in [("evolve", "bootstrap"), ("pso", "full"), ("average", "shard")]:
        args = ["--strategy", strategy, "--data-split", split, "--rounds", "2"]
        ok("swarm", "run", str(path), data_path, *args, "--epochs-per-round", "6", "--quiet")
        config = swarm.RunConfig(strategy, 2, 6, split)
        swarm.run(memory, data, config)
    on_disk = load_swarm(str(path))
    np.testing.assert_array_equal(on_disk.weights, memory.weights)
    np.testing.assert_array_equal(on_disk.velocity, memory.velocity)
    np.testing.assert_array_equal(on_disk.prev_steps, memory.prev_steps)
    assert [h["strategy"] for h in on_disk.history] == ["evolve"] * 2 + ["pso"] * 2 + [
        "average"
    ] * 2


def test_shards_partition_the_patterns():
    """--data-split shard: every pattern in exactly one agent's shard; bootstrap: P draws."""
    from fannctl.swarm import spawn
    from fannctl.swarm.rounds import data_counts, pattern_weights

    population = spawn(7, layers=[2, 3, 1], seed=1)
    shards = pattern_weights(population, np.arange(7), 30, "shard")
    assert set(np.unique(shards)) == {0.0, 1.0}
    np.testing.assert_array_equal(shards.sum(axis=0), np.ones(30))
    np.testing.assert_array_equal(shards.sum(axis=1), data_counts(population, 30, "shard"))
    bags = pattern_weights(population, np.arange(7), 30, "bootstrap")
    np.testing.assert_array_equal(bags.sum(axis=1), np.full(7, 30.0))
    assert not np.array_equal(bags[0], bags[1])
    again = pattern_weights(population, np.array([3]), 30, "bootstrap")
    np.testing.assert_array_equal(again[0], bags[3])  # per agent, not per chunk


def test_spawn_keeps_an_existing_swarm_unless_forced(tmp_path: Path):
    """swarm spawn onto a trained swarm replaced it without a word (as create once did)."""
    path = tmp_path / "s.h5"
    ok("swarm", "spawn", str(path), "--agents", "4", "--layers", "2,3,1", "--seed", "1")
    before = path.read_bytes()
    again = invoke("swarm", "spawn", str(path), "--agents", "8", "--layers", "2,3,1")
    assert again.exit_code == 2
    assert "exists" in again.output and "--force" in again.output
    assert path.read_bytes() == before
    ok("swarm", "spawn", str(path), "--agents", "8", "--layers", "2,3,1", "--force")
    assert path.read_bytes() != before
