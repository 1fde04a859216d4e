"""deployments/<network>.json: where each network's contracts live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fathom.errors import DeploymentNotFound, FathomError


def deployment_path(directory: Path, network: str) -> Path:
    return directory / f"{network}.json"


def write_deployment(directory: Path, network: str, record: dict[str, Any]) -> Path:
    """Write atomically, so a crash never leaves half a file behind."""
    directory.mkdir(parents=True, exist_ok=True)
    path = deployment_path(directory, network)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def read_deployment(directory: Path, network: str) -> dict[str, Any]:
    path = deployment_path(directory, network)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeploymentNotFound(
            f"no deployment for network '{network}' at {path}: run `make demo` or "
            f"`brownie run scripts/deploy.py --network {network}` first"
        ) from None
    except json.JSONDecodeError as exc:
        raise FathomError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(record, dict) or not isinstance(record.get("contracts"), dict):
        raise FathomError(f"{path} has no 'contracts' mapping; redeploy to rewrite it")
    return record
