"""The shared benchmark-task interface (experiments.task), its generated flags
(commands.benchmark) and the findings every report opens with (report.findings)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

import numpy as np
import pytest

from sigvae.commands.benchmark import add_task_arguments, run_task_command
from sigvae.errors import ConfigError
from sigvae.experiments.task import (
    Metric,
    Task,
    TaskConfig,
    TaskResults,
    resolve_config,
    run_task,
    seeds_setting,
    setting,
)
from sigvae.metrics import active_units
from sigvae.report.findings import detected_warnings, standings, summary_table
from sigvae.report.results import row


@dataclass
class ToyConfig(TaskConfig):
    seeds: list[int] = seeds_setting([0, 1])
    models: list[str] = setting(["a", "b"], flag=True, choices=["a", "b", "c"], help="models to run")
    epochs: int = setting(3, flag=True, help="epochs per run")
    lr: float = setting(1e-3, flag=True, help="learning rate")
    gap: float = setting(0.5, help="how far model a is ahead (config file only)")
    verbose: bool = setting(False, flag=True, help="say more")


PROFILES = {"default": {}, "tiny": {"epochs": 1, "seeds": [0]}}


def _toy_run(cfg: ToyConfig, ctx) -> TaskResults:
    rows = []
    for m in cfg.models:
        for s in cfg.seeds:
            value = (cfg.gap if m == "a" else 0.0) + 0.01 * s
            rows.append(row("toy", m, s, "score", value))
            rows.append(row("toy", m, s, "flat", 0.3 + 0.01 * s))
    return TaskResults(rows, ran=[f"toy data, models {cfg.models}"], warnings=["b looked odd."], dataset="toy")


def _toy_report(cfg, results, report, folder) -> None:
    report.heading("Toy results")
    report.text("the task's own section")


TOY = Task(name="toy", description="a toy task", config_class=ToyConfig, profiles=PROFILES, run=_toy_run,
           report=_toy_report, headline=[Metric("score", "Score"), Metric("flat", "Flat")], default_out="runs/toy")


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_task_arguments(p, TOY)
    return p.parse_args(argv)


def test_settings_come_from_profile_then_file_then_flags(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("profile: tiny\nepochs: 7\ngap: 0.25\n")
    cfg = resolve_config(TOY, config_file=str(f), flags={"epochs": 9, "lr": None})
    assert (cfg.profile, cfg.seeds, cfg.epochs, cfg.gap) == ("tiny", [0], 9, 0.25)
    assert resolve_config(TOY, profile="tiny").epochs == 1
    assert resolve_config(TOY).epochs == 3


@pytest.mark.parametrize("text, match", [("epoch: 3\n", "unknown key 'epoch'"), ("epochs: many\n", "epochs"),
                                         ("profile: huge\n", "unknown profile")])
def test_bad_settings_files_are_refused_naming_the_key(tmp_path, text, match):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=match):
        resolve_config(TOY, config_file=str(f))


def test_flags_are_generated_from_the_config_fields_with_their_defaults(capsys):
    args = _parse(["--seeds", "3", "--models", "a,c", "--epochs", "2", "--verbose"])
    assert (args.seeds, args.models, args.epochs, args.verbose, args.lr) == ([0, 1, 2], ["a", "c"], 2, True, None)
    assert _parse(["--seeds", "0,4"]).seeds == [0, 4]
    assert _parse(["--no-verbose"]).verbose is False
    with pytest.raises(SystemExit) as e:
        _parse(["--models", "a,z"])
    assert e.value.code == 2
    assert "unknown model 'z'" in capsys.readouterr().err
    p = argparse.ArgumentParser()
    add_task_arguments(p, TOY)
    text = p.format_help()
    assert "epochs per run (default: 3)" in text and "--gap" not in text and "--fresh" not in text


def test_run_task_writes_summary_first_and_settings_last(tmp_path, capsys):
    out = tmp_path / "out"
    args = _parse(["--out", str(out), "--profile", "default", "--no-progress"])
    assert run_task_command(TOY, args) == 0
    page = (out / "report.html").read_text()
    assert page.index('id="summary"') < page.index("Toy results") < page.index('id="settings"')
    assert "b looked odd." in page and "Flat separates no two models" in page
    assert json.loads((out / "settings.json").read_text())["epochs"] == 3
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith("dataset,model,seed,metric,value")
    printed = capsys.readouterr().out
    assert "a best; its lead exceeds the seed spread" in printed and "#summary" in printed


def test_a_failing_task_leaves_nothing_at_out(tmp_path):
    def broken(cfg, ctx):
        (ctx.stage / "half.txt").write_text("x")
        raise RuntimeError("boom")

    task = Task(**{**TOY.__dict__, "run": broken})
    with pytest.raises(RuntimeError):
        run_task(task, resolve_config(task), tmp_path / "out", echo=None)
    assert not (tmp_path / "out").exists()


def _rows(means: dict[str, float], spread: float, seeds: int = 3) -> list[dict]:
    return [row("d", m, s, "x", v + spread * (s - 1)) for m, v in means.items() for s in range(seeds)]


def test_standings_call_a_lead_only_when_it_exceeds_the_seed_spread():
    metric = [Metric("x", "X")]
    clear = standings(_rows({"a": 1.0, "b": 0.5, "c": 0.4}, 0.01), metric)[0]
    assert clear.leader_clear and clear.order[0][0] == "a" and clear.separates
    tied = standings(_rows({"a": 1.0, "b": 0.99, "c": 0.4}, 0.05), metric)[0]
    assert not tied.leader_clear and tied.tied == ["a", "b"] and "no model distinguishable" in tied.verdict()
    lower = standings(_rows({"a": 1.0, "b": 0.5}, 0.01), [Metric("x", "X", higher_is_better=False)])[0]
    assert lower.order[0][0] == "b"
    single = standings(_rows({"a": 1.0, "b": 0.5}, 0.0, seeds=1), metric)[0]
    assert not single.leader_clear and "one seed" in single.verdict()


def test_warnings_name_a_measure_that_separates_nothing_and_a_worse_reconstruction():
    rows = _rows({"a": 0.5, "b": 0.5}, 0.05)
    rows += [row("d", m, s, "recon_error", v) for m, v in {"pca": 7.0, "vae": 7.2, "beta_vae": 25.7}.items() for s in range(3)]
    found = detected_warnings(rows, [Metric("x", "X")], reference="pca")
    assert any("X separates no two models" in w for w in found)
    assert any(w.startswith("beta_vae reconstructs worse than pca") for w in found)
    assert summary_table(rows, [Metric("x", "X")]).splitlines()[0].split() == ["measure", "best", "mean", "±", "std",
                                                                                "over", "seeds", "runner-up", "verdict"]


def test_active_units_count_the_dimensions_that_vary():
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(size=(200, 3)), 1e-3 * rng.normal(size=(200, 2))], axis=1)
    assert active_units(codes) == 3
    assert active_units(np.zeros((50, 4))) == 0
