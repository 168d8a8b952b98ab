"""Issue 10: every error a user can cause ends in one line naming the cause (exit 2 for usage, 1 for
data), never a traceback: a case per command (fetch, access and publish have theirs beside their
own tests)."""
from __future__ import annotations

import pytest

from cli_checks import one_line_error
from conftest import run_build
from pmc_hub.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("built") / "out"
    run_build([], out)
    return out


@pytest.mark.parametrize("argv, code, words", [
    (["build", "{tmp}/missing", "--out", "{tmp}/o"], 2, "no such file or folder"),
    (["build", "--out", "{tmp}/o", "--release", "bad/name"], 2, "release name"),
    (["build", "--out", "{tmp}/o", "--workers", "0"], 2, "workers must be at least 1"),
    (["build", "--out", "{tmp}/o", "--mesh-xml", "{tmp}/nope.xml"], 2, "nope.xml"),
    (["update", "{tmp}", "{tmp}"], 1, "not a finished pmc-hub build"),
    (["merge", "{tmp}", "--out", "{tmp}/m"], 1, "not a finished pmc-hub build"),
    (["card", "{tmp}"], 1, "not a finished pmc-hub build"),
    (["eval", "retrieval", "--dataset", "{tmp}", "--config", "benchmark"], 2, "--model"),
    (["eval", "retrieval", "--image-embeddings", "{tmp}/a.npy", "--text-embeddings", "{tmp}/b.npy"], 1, "a.npy"),
    (["labels", "apply", "{tmp}", "--model", "{tmp}/no-model", "--centroids", "{tmp}/c.npy"], 1, "{tmp}"),
])
def test_user_errors_are_one_line(argv, code, words, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == code
    assert words.replace("{tmp}", str(tmp_path)) in one_line_error(capsys)


def test_errors_on_a_finished_build(built, tmp_path, capsys):
    assert main(["update", str(built), str(tmp_path / "missing")]) == 2
    assert "no such file or folder" in one_line_error(capsys)
    assert main(["merge", str(built), "--out", str(built)]) == 1
    assert "must not be one of the inputs" in one_line_error(capsys)
    assert main(["card", str(built), "--gate-fields", str(tmp_path / "gate.yaml")]) == 1
    assert "gate.yaml" in one_line_error(capsys)
