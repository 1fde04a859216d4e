"""Settings, deployment records and the CLI's error handling."""

from __future__ import annotations

import json
import re

import pytest

from fathom.cli import main
from fathom.config import Settings
from fathom.chain.deployments import read_deployment, write_deployment
from fathom.errors import ConfigError, DeploymentNotFound, FathomError


def test_settings_come_from_fathom_variables(tmp_path):
    s = Settings.from_env(
        {"FATHOM_NETWORK": "anvil", "FATHOM_DATA_DIR": str(tmp_path), "FATHOM_IPFS_API": "/ip4/127.0.0.1/tcp/5001", "FATHOM_IPFS_TIMEOUT": "2.5"}
    )
    assert (s.network, s.data_dir, s.ipfs_api, s.ipfs_timeout) == ("anvil", tmp_path, "/ip4/127.0.0.1/tcp/5001", 2.5)
    assert Settings.from_env({}).ipfs_api is None  # embedded store by default


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_a_bad_timeout_is_a_config_error_that_names_the_variable(value):
    with pytest.raises(ConfigError, match="FATHOM_IPFS_TIMEOUT"):
        Settings.from_env({"FATHOM_IPFS_TIMEOUT": value})
    assert issubclass(ConfigError, ValueError)


def test_a_deployment_round_trips_and_leaves_no_temp_file(tmp_path):
    record = {"network": "x", "contracts": {"KeyRegistry": "0x" + "11" * 20}}
    path = write_deployment(tmp_path, "x", record)
    assert read_deployment(tmp_path, "x") == record
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_missing_or_broken_deployment_says_what_to_do(tmp_path):
    with pytest.raises(DeploymentNotFound, match="fathom devnet"):
        read_deployment(tmp_path, "sepolia")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FathomError, match="not valid JSON"):
        read_deployment(tmp_path, "bad")
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(FathomError, match="no 'contracts'"):
        read_deployment(tmp_path, "empty")


def test_cli_prints_user_errors_as_one_line_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FATHOM_DEPLOYMENTS", str(tmp_path))
    assert main(["deployments", "--network", "nowhere"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fathom: error: no deployment for network 'nowhere'")
    assert "Traceback" not in err and err.count("\n") == 1


def test_cli_shows_a_deployment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FATHOM_DEPLOYMENTS", str(tmp_path))
    write_deployment(tmp_path, "development", {"network": "development", "chain_id": 1337, "block": 1, "contracts": {"KeyRegistry": "0xabc"}})
    assert main(["deployments"]) == 0
    assert re.search(r"^  KeyRegistry +0xabc$", capsys.readouterr().out, re.M)
    assert main(["deployments", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["chain_id"] == 1337


def test_cli_without_a_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: fathom" in capsys.readouterr().out


def test_the_readme_tells_a_newcomer_what_each_setting_really_does(tmp_path, monkeypatch):
    """FATHOM_DEPLOYMENTS defaults to the checkout's folder whatever the working directory;
    'Using Fathom' says that a quiet local chain needs FATHOM_CONFIRMATIONS=0 and that the
    parties on one machine share one FATHOM_STORE_DIR."""
    from fathom.config import PROJECT_ROOT

    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).deployments_dir == PROJECT_ROOT / "deployments"
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "| `FATHOM_DEPLOYMENTS` | the checkout's `deployments/`, whatever the working directory |" in readme
    using = readme.split("## Using Fathom", 1)[1].split("\n## ", 1)[0]
    assert "FATHOM_CONFIRMATIONS=0" in using
    assert "must share one `FATHOM_STORE_DIR`" in " ".join(using.split())
    for heading in ("### Artefacts: what the folders hold", "### The bundled IPFS node", "jsipfs init", "W0", "b0",
                    "X.npy", "y.npy", "float32", "int64"):
        assert heading in using, heading


def test_a_reader_that_stops_reading_gets_no_traceback(tmp_path):
    """`fathom … | grep -q X` (the README's wait loops) or `| head`: when the reader exits
    early the CLI's writes hit a closed pipe; that is the reader's choice, not an error."""
    import os
    import subprocess
    import sys

    from fathom.config import PROJECT_ROOT

    contracts = {f"Contract{i}": "0x" + f"{i:040x}" for i in range(4000)}  # far more than a pipe holds
    write_deployment(tmp_path, "big", {"network": "big", "chain_id": 1, "block": 0, "contracts": contracts})
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "FATHOM_DEPLOYMENTS": str(tmp_path), "FATHOM_NETWORK": "big"}
    proc = subprocess.Popen([sys.executable, "-m", "fathom", "deployments"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout.read(10) == b"network bi"
    proc.stdout.close()  # the reader is gone
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0 and err == "", err
