import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from sigvae.config import from_dict, load_config_file, replace, to_dict
from sigvae.errors import ConfigError
from sigvae.io import staged_dir, write_json, write_npz
from sigvae.training import TrainConfig


@dataclass
class Inner:
    a: int = 1


@dataclass
class Outer:
    x: float = 0.5
    names: tuple[str, ...] = ("a",)
    inner: Inner = field(default_factory=Inner)


def test_from_dict_converts_and_rejects():
    o = from_dict(Outer, {"x": 2, "names": ["p", "q"], "inner": {"a": "3"}})
    assert o == Outer(2.0, ("p", "q"), Inner(3))
    assert to_dict(o) == {"x": 2.0, "names": ["p", "q"], "inner": {"a": 3}}
    with pytest.raises(ConfigError, match=r"config.inner: unknown key 'b'"):
        from_dict(Outer, {"inner": {"b": 1}})
    with pytest.raises(ConfigError, match="config.x: expected a number"):
        from_dict(Outer, {"x": [1]})
    with pytest.raises(ConfigError, match="finite"):
        from_dict(Outer, {"x": float("nan")})
    assert replace(o, {"inner": {"a": 9}}).inner.a == 9


def test_train_config_validation():
    with pytest.raises(ConfigError, match="epochs must be >= 1"):
        from_dict(TrainConfig, {"epochs": 0})
    with pytest.raises(ConfigError, match="expected one of"):
        from_dict(TrainConfig, {"optimizer": "sgd"})
    assert from_dict(TrainConfig, {"devices": "2", "strategy": "ddp"}).distributed


def test_config_files(tmp_path):
    (tmp_path / "a.yaml").write_text("training: {epochs: 3}\n")
    assert load_config_file(tmp_path / "a.yaml") == {"training": {"epochs": 3}}
    (tmp_path / "b.yaml").write_text("training: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot be parsed"):
        load_config_file(tmp_path / "b.yaml")
    (tmp_path / "c.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config_file(tmp_path / "c.json")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "none.yaml")


def test_atomic_writers_leave_nothing_on_failure(tmp_path):
    write_json(tmp_path / "r.json", {"v": np.float32(1.5)})
    assert json.loads((tmp_path / "r.json").read_text()) == {"v": 1.5}
    with pytest.raises(TypeError):
        write_json(tmp_path / "r.json", {"v": object()})
    assert json.loads((tmp_path / "r.json").read_text()) == {"v": 1.5}
    with pytest.raises(TypeError, match="pickle"):
        write_npz(tmp_path / "o.npz", a=np.array([object()]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_staged_dir_is_all_or_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with staged_dir(out) as d:
            (d / "half.txt").write_text("x")
            raise RuntimeError("boom")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with staged_dir(out) as d:
        (d / "sub").mkdir()
        (d / "sub" / "f.txt").write_text("ok")
    assert (out / "sub" / "f.txt").read_text() == "ok"


def test_claim_is_exclusive_and_ends_with_its_holder(tmp_path):
    import subprocess
    import sys
    import threading
    import time

    from sigvae.io import claim

    lock = tmp_path / "runs" / ".a.lock"
    with claim(lock) as first:
        assert first and lock.is_file()
        with claim(lock) as second:  # another open file: flock refuses it, even in this process
            assert second is False
        # Another process is refused too.
        probe = "import sys; from sigvae.io import claim\nwith claim(sys.argv[1]) as h: print(h)"
        out = subprocess.run([sys.executable, "-c", probe, str(lock)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "False"
        # A waiting claim gets it when the holder lets go.
        got = []
        t = threading.Thread(target=lambda: got.append(claim(lock, wait=True).__enter__()))
        t.start()
        time.sleep(0.3)
        assert got == []
    t.join(5)
    assert got == [True]
    # A holder that dies (here: a process killed while holding it) frees the claim.
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from sigvae.io import claim\n"
                               "with claim(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(tmp_path / "b.lock")],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with claim(tmp_path / "b.lock") as h:
        assert h is False
    holder.kill()
    holder.wait()
    with claim(tmp_path / "b.lock") as h:
        assert h is True
