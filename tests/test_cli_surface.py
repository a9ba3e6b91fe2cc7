"""The command line as users meet it: fast ``--help``, one flag vocabulary, help that states
defaults and shows examples, closest-name suggestions, and docs/cli.md kept in step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigvae.cli import build_parser, main
from sigvae.commands import walk_parsers

REPO = Path(__file__).resolve().parents[1]
SRC = str(REPO / "src")
HEAVY = ("torch", "scipy", "lightning", "sklearn")

#: Words that point into the project's history instead of telling a user something.
INTERNAL = ("issue ", "(issue", "seed 00")


def _paths(old_names: bool = True) -> list[tuple[str, ...]]:
    return [path for path, _ in walk_parsers(build_parser(), old_names=old_names)]


def test_every_help_page_imports_nothing_heavy():
    """``sigvae ... --help`` for every command and subcommand, in one fresh interpreter."""
    code = f"""
import contextlib, io, json, sys
from sigvae.cli import build_parser, main
from sigvae.commands import walk_parsers
codes = {{}}
for path, _ in walk_parsers(build_parser()):
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            codes[" ".join(path)] = main([*path, "--help"])
        except SystemExit as e:
            codes[" ".join(path)] = e.code
print(json.dumps({{"codes": codes, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": SRC})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"--help imported {result['heavy']}"
    assert set(result["codes"].values()) == {0}, result["codes"]
    assert {"", "train", "data", "data syntone", "data mixture", "benchmark", "benchmark ucr", "unmix"} <= set(result["codes"])


def test_every_option_has_help_with_its_default_and_every_command_examples():
    for path, parser in walk_parsers(build_parser(), old_names=False):
        where = " ".join(("sigvae", *path))
        if path:
            assert parser.epilog and "examples:" in parser.epilog, f"{where}: no examples in --help"
        for action in parser._actions:
            if action.help == "==SUPPRESS==" or action.dest in ("help", "version") or action.nargs in (0, "A..."):
                continue  # flags, and the list of subcommands
            if not action.option_strings:  # a positional: what to give
                assert action.help, f"{where} {action.dest}: no help"
                continue
            assert action.help and ("default" in action.help or "required" in action.help or action.required), \
                f"{where} {action.option_strings[0]}: the help states no default"


def test_no_internal_references_in_help_or_model_list(capsys):
    for path, parser in walk_parsers(build_parser()):
        texts = [parser.description or "", parser.epilog or ""] + [a.help or "" for a in parser._actions]
        for text in texts:
            assert not any(word in text.lower() for word in INTERNAL), f"sigvae {' '.join(path)}: {text!r}"
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("\n") >= 10 and not any(word in listing.lower() for word in INTERNAL)
    from sigvae.data import SOURCES

    assert not any(word in e.description.lower() for e in SOURCES for word in INTERNAL)


def test_names_listed_without_imports_match_the_registries():
    from sigvae.commands.train import (
        DEFAULT_NUM_EXAMPLES,
        MODEL_NAMES,
        SOURCE_NAMES,
        TRAIN_DEFAULTS,
    )
    from sigvae.config import to_dict
    from sigvae.data import SOURCES
    from sigvae.models import MODELS
    from sigvae.training import TrainConfig

    assert tuple(MODEL_NAMES) == tuple(MODELS.names())
    assert tuple(SOURCE_NAMES) == tuple(SOURCES.names())
    defaults = to_dict(TrainConfig())
    assert {k: defaults[k] for k in TRAIN_DEFAULTS} == TRAIN_DEFAULTS
    assert DEFAULT_NUM_EXAMPLES > 0


def test_docs_cli_md_is_up_to_date():
    from sigvae.commands.reference import render

    doc = REPO / "docs" / "cli.md"
    assert doc.is_file() and doc.read_text(encoding="utf-8") == render(), (
        "docs/cli.md is out of date: regenerate it with "
        "'.venv/bin/python -m sigvae.commands.reference > docs/cli.md'")
    text = doc.read_text(encoding="utf-8")
    for path in _paths(old_names=False):
        assert f"\n## {' '.join(('sigvae', *path))}\n" in text or f"\n### {' '.join(('sigvae', *path))}\n" in text


@pytest.mark.parametrize("argv, suggestion", [
    (["trian"], "did you mean 'train'"),
    (["benchmark", "synton"], "did you mean 'syntone'"),
    (["data", "syntne", "--out", "x.npz"], "did you mean 'syntone'"),
    (["data", "simvowels", "--split", "tset", "--out", "x.npz"], "did you mean 'test'"),
])
def test_unknown_choice_names_the_closest(argv, suggestion, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and suggestion in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, suggestion", [
    (["train", "vea"], "did you mean 'vae'"),
    (["train", "beta-vea"], "did you mean 'beta_vae'"),
    (["train", "vae", "--data", "syntoen"], "did you mean 'syntone'"),
])
def test_unknown_model_or_source_names_the_closest(argv, suggestion, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert suggestion in err and err.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_one_vocabulary_with_old_spellings_hidden():
    parser = build_parser()
    for argv in (["data", "syntone", "--n", "5", "--out", "x.npz"],
                 ["data", "syntone", "--num-examples", "5", "--out", "x.npz"],
                 ["data", "demo-tracks", "--n", "5", "--out", "d"]):
        assert parser.parse_args(argv).num_examples == 5
    args = parser.parse_args(["train", "vae", "--batch", "8", "--quiet", "--threads", "2"])
    assert (args.batch_size, args.quiet, args.threads) == (8, True, 2)
    for path, sub in walk_parsers(parser, old_names=False):
        shown = {s for a in sub._actions if a.help != "==SUPPRESS==" for s in a.option_strings}
        assert not shown & {"--n", "--batch", "--max-examples"}, f"sigvae {' '.join(path)} lists an old spelling"
        if path and path[0] in ("train", "data", "benchmark") and sub.get_default("func"):
            assert {"--no-progress", "--quiet"} <= shown, f"sigvae {' '.join(path)}"


def test_benchmark_without_task_runs_the_first_and_a_word_is_a_task_name():
    from sigvae.commands.benchmark import default_task_argv

    assert default_task_argv(["benchmark", "--out", "x"]) == ["benchmark", "syntone", "--out", "x"]
    assert default_task_argv(["benchmark"]) == ["benchmark", "syntone"]
    assert default_task_argv(["benchmark", "synton"]) == ["benchmark", "synton"]
    assert default_task_argv(["benchmark", "separation", "--task", "spectrogram"]) == ["benchmark", "separate"]


def test_data_quiet_prints_nothing(tmp_path, capsys):
    out = tmp_path / "a.npz"
    assert main(["data", "syntone", "--num-examples", "3", "--duration", "0.05", "--quiet", "--out", str(out)]) == 0
    assert out.is_file() and capsys.readouterr().out == ""
    assert main(["data", "syntone", "--n", "3", "--duration", "0.05", "--out", str(tmp_path / "b.npz")]) == 0
    assert "wrote 3 clips" in capsys.readouterr().out


def test_train_quiet_prints_nothing_and_threads_is_restored(tmp_path, capsys):
    import torch

    from conftest import TINY_MODEL

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"data": "syntone", "num_examples": 32,
                               "data_options": {"duration": 0.1, "num_freqs": 20, "num_amps": 5},
                               "model_config": TINY_MODEL, "training": {"epochs": 1, "batch_size": 16,
                                                                        "accelerator": "cpu"}}))
    before = torch.get_num_threads()
    assert main(["train", "vae", "--config", str(cfg), "--quiet", "--threads", "1", "--out", str(tmp_path / "run")]) == 0
    assert capsys.readouterr().out == "" and (tmp_path / "run").is_dir()
    assert torch.get_num_threads() == before
