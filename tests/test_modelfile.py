import json
import pickle

import pytest
import torch

from conftest import TINY_MODEL
from sigvae.errors import ModelFileError
from sigvae.modelfile import load, save_model
from sigvae.models import build_model


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    m = build_model("factor_vae", {**TINY_MODEL, "length": 1600, "disc_hidden": 8, "disc_layers": 2}).eval()
    save_model(m, tmp_path / "m", {"note": "test"})
    return m, tmp_path / "m"


def test_round_trip_gives_identical_outputs(saved):
    m, folder = saved
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "training.json"]
    back = load(folder)
    x = torch.randn(3, 1, 1600)
    assert torch.equal(m.encode(x).mean, back.encode(x).mean)
    assert torch.equal(m.decode(torch.ones(2, 3)), back.decode(torch.ones(2, 3)))
    assert back.registry_name == "factor_vae" and back.metadata["note"] == "test"
    assert back.config == m.config


def test_pickle_weights_are_refused_without_running_them(saved, tmp_path):
    _, folder = saved
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelFileError, match="pickle"):
        load(folder)
    torch.save({"a": torch.zeros(1)}, folder / "model.safetensors")
    with pytest.raises(ModelFileError, match="pickle"):
        load(folder)
    assert not marker.exists()


def test_unknown_model_and_bad_config_are_refused(saved):
    _, folder = saved
    doc = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**doc, "model": "os.system"}))
    with pytest.raises(ModelFileError, match="unknown model 'os.system'"):
        load(folder)
    (folder / "config.json").write_text(json.dumps({**doc, "config": {**doc["config"], "latent_dim": 7}}))
    with pytest.raises(ModelFileError, match="shape"):
        load(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="JSON"):
        load(folder)


def test_missing_folder_and_truncated_weights(saved, tmp_path):
    _, folder = saved
    with pytest.raises(ModelFileError, match="does not exist"):
        load(tmp_path / "nothing")
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="safetensors"):
        load(folder)
