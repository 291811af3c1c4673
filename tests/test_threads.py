"""fannctl.threads: the thread settings the CLI makes before numpy and PoCL load."""

from __future__ import annotations

import pytest

from fannctl import threads

NAMES = (*threads.VARIABLES, "POCL_DEVICES", "POCL_MAX_PTHREAD_COUNT")


@pytest.fixture
def clean_env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_is_one_thread_and_pocls_single_threaded_device(clean_env) -> None:
    import os

    threads.configure(None)
    assert [os.environ[name] for name in threads.VARIABLES] == ["1"] * 4
    assert os.environ["POCL_DEVICES"] == "basic"
    assert os.environ["POCL_MAX_PTHREAD_COUNT"] == "1"


def test_more_threads_keep_pocls_threaded_device(clean_env) -> None:
    import os

    threads.configure(2)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"
    assert "POCL_DEVICES" not in os.environ
    assert os.environ["POCL_MAX_PTHREAD_COUNT"] == "2"


def test_what_the_environment_sets_is_kept_and_followed(clean_env) -> None:
    import os

    clean_env.setenv("OMP_NUM_THREADS", "3")
    threads.configure(None)  # the environment chose 3: BLAS as it is, PoCL the same
    assert "OPENBLAS_NUM_THREADS" not in os.environ and "POCL_DEVICES" not in os.environ
    assert os.environ["POCL_MAX_PTHREAD_COUNT"] == "3"
    clean_env.delenv("POCL_MAX_PTHREAD_COUNT")
    clean_env.setenv("OMP_NUM_THREADS", "1")
    threads.configure(None)
    assert os.environ["POCL_DEVICES"] == "basic"
    clean_env.setenv("POCL_DEVICES", "pthread")
    threads.configure(1)
    assert os.environ["POCL_DEVICES"] == "pthread" and os.environ["OPENBLAS_NUM_THREADS"] == "1"
