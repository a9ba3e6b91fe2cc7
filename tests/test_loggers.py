"""Experiment loggers a user chooses (``--logger csv,tensorboard,mlflow,wandb``): names are
checked before anything runs, each chosen logger writes into the run folder, and a resumed
run continues the same MLflow / W&B run. MLflow and W&B run offline here (an SQLite store;
W&B's offline mode); a test of a logger whose extra is missing is skipped with the reason."""

from __future__ import annotations

import json

import pytest

from sigvae.cli import main
from sigvae.errors import ConfigError
from sigvae.extras import available
from sigvae.loggers import DEFAULT_LOGGERS, LOGGER_NAMES, parse_loggers, wandb_mode

TINY = ["--data", "syntone", "--num-examples", "32", "--epochs", "1", "--no-progress", "--quiet"]


def _needs(extra: str):
    return pytest.mark.skipif(not available(extra), reason=f"the {extra!r} extra is not installed "
                                                           f"(pip install 'sigvae[{extra}]')")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No W&B credentials and no tracking settings from the machine running the tests."""
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_PROJECT", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))


def test_parse_loggers():
    assert parse_loggers("csv,tensorboard") == ["csv", "tensorboard"]
    assert parse_loggers(" CSV , csv,mlflow ") == ["csv", "mlflow"]  # deduplicated, in order
    assert parse_loggers("none") == [] and parse_loggers("") == [] and parse_loggers([]) == []
    assert parse_loggers(["wandb"]) == ["wandb"]
    assert DEFAULT_LOGGERS == ("csv",) and set(LOGGER_NAMES) == {"csv", "tensorboard", "mlflow", "wandb"}
    with pytest.raises(ConfigError, match="unknown logger 'neptune'; choose from csv, tensorboard, mlflow, wandb"):
        parse_loggers("csv,neptune")


def test_wandb_mode(monkeypatch, tmp_path, offline):
    assert wandb_mode() == "offline"  # no key, no login, no mode: offline, never a prompt
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password x\n")
    monkeypatch.setenv("NETRC", str(netrc))
    assert wandb_mode() is None  # logged in: wandb decides (online)
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert wandb_mode() is None  # the user's own setting wins


def test_saved_run_ids_are_checked(tmp_path):
    """A run folder's logger_ids.json may come from anyone: only well-formed ids are reused."""
    from sigvae.loggers import _saved_ids

    (tmp_path / "logger_ids.json").write_text(json.dumps(
        {"mlflow": "d3ee61590ed6411392c64acceb86c3f4", "wandb": "../../etc", "other": "abc", "csv": 5}))
    assert _saved_ids(tmp_path) == {"mlflow": "d3ee61590ed6411392c64acceb86c3f4"}
    (tmp_path / "logger_ids.json").write_text("[1, 2]")
    assert _saved_ids(tmp_path) == {}
    (tmp_path / "logger_ids.json").write_bytes(b"\xff\xfe")
    assert _saved_ids(tmp_path) == {}


def test_unknown_logger_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "vae", *TINY, "--logger", "csv,tensorbord", "--out", str(tmp_path / "r")])
    assert e.value.code == 2
    assert "unknown logger 'tensorbord'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_no_logger_writes_no_logs(tmp_path):
    assert main(["train", "vae", *TINY, "--logger", "none", "--out", str(tmp_path / "r")]) == 0
    assert not (tmp_path / "r" / "logs").exists()
    assert json.loads((tmp_path / "r" / "run.json").read_text())["train_config"]["loggers"] == []


def test_default_is_csv(tmp_path):
    assert main(["train", "vae", *TINY, "--out", str(tmp_path / "r")]) == 0
    assert [p.name for p in (tmp_path / "r" / "logs").iterdir()] == ["metrics.csv"]


@_needs("tensorboard")
def test_tensorboard_writes_event_files(tmp_path):
    assert main(["train", "vae", *TINY, "--logger", "tensorboard", "--out", str(tmp_path / "r")]) == 0
    logs = tmp_path / "r" / "logs"
    assert any(p.name.startswith("events.out.tfevents") for p in logs.iterdir())
    assert not (logs / "metrics.csv").exists()


@_needs("mlflow")
@pytest.mark.slow
def test_mlflow_file_store_and_resume_continue_one_run(tmp_path, offline):
    from mlflow.tracking import MlflowClient

    run = tmp_path / "r"
    assert main(["train", "vae", *TINY, "--logger", "csv,mlflow", "--out", str(run)]) == 0
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--no-progress", "--quiet"]) == 0
    client = MlflowClient(f"sqlite:///{run / 'logs' / 'mlflow.db'}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "sigvae"]
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, "a resumed run continues the same MLflow run"
    assert runs[0].info.run_name == "r"
    history = client.get_metric_history(runs[0].info.run_id, "train/loss_epoch")
    assert sorted(m.step for m in history) == [0, 1]  # one value per epoch, both epochs
    assert json.loads((run / "logs" / "logger_ids.json").read_text())["mlflow"] == runs[0].info.run_id


@_needs("wandb")
@pytest.mark.slow
def test_wandb_offline_and_resume_keep_the_run_id(tmp_path, offline, capsys):
    run = tmp_path / "r"
    assert main(["train", "vae", *TINY, "--logger", "wandb", "--out", str(run)]) == 0
    assert "logging offline" in capsys.readouterr().err
    first = json.loads((run / "logs" / "logger_ids.json").read_text())["wandb"]
    offline_runs = list((run / "logs" / "wandb").glob(f"offline-run-*-{first}"))
    assert offline_runs and any(offline_runs[0].rglob("*.wandb")), "the offline run's records are in the run folder"
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "--no-progress", "--quiet"]) == 0
    assert json.loads((run / "logs" / "logger_ids.json").read_text())["wandb"] == first


@pytest.mark.slow
def test_benchmark_logger_writes_into_each_run(tmp_path):
    out = tmp_path / "b"
    assert main(["benchmark", "--profile", "tiny", "--models", "vae", "--seeds", "1", "--logger", "csv",
                 "--out", str(out), "--no-progress", "--quiet"]) == 0
    assert (out / "models" / "vae-seed0" / "logs" / "metrics.csv").is_file()
    assert json.loads((out / "settings.json").read_text())["logger"] == ["csv"]
