"""A newcomer's whole round, through the CLI alone, as README.md tells it.

The README's "A whole round on your own machine" block is run as it stands, with bash,
from a fresh `git clone` of this checkout in a folder whose path has a dot (brownie's
`brownie run` cannot import a script there; `fathom devnet`/`fathom deploy` must), with
an empty `HOME` and no FATHOM_* variables. It reuses the built `.venv` and
`node_modules` (symlinked, as the README allows CI to) and imports the clone's own
`fathom` (PYTHONPATH), whose PROJECT_ROOT is the clone: the deployment record is
written inside the dotted path. Uncommitted changes of the working tree are copied over
the clone, so the test checks what is on disk; forge's build output is copied when there
is one (with fresh times, so the clone does not rebuild: a test of the CLI, not of solc).

It checks what a user would look at: three oracle daemons scored the batch, the lineage
grew, the committee closed the cancelled bounty, every party's claim (exact, in wei)
and the books balance, the audit found no differences, the report was drawn.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAKE = 10**16


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    return block.split("```sh\n", 1)[1].rsplit("```", 1)[0]


def _clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "--quiet", "--shared", str(ROOT), str(dest)], check=True, capture_output=True)
    # the working tree's uncommitted and untracked files, over the clone
    changed = subprocess.run(["git", "ls-files", "--modified", "--others", "--exclude-standard"], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
    for rel in changed:
        src = ROOT / rel
        if src.is_file() and not src.is_symlink():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / rel)
    for built in (".venv", "node_modules"):
        (dest / built).symlink_to((ROOT / built).resolve())
    if (ROOT / ".forge" / "out").is_dir():  # forge's build too, newer than the clone's sources (no rebuild)
        shutil.copytree(ROOT / ".forge", dest / ".forge", copy_function=shutil.copy,
                        ignore=shutil.ignore_patterns("slither-*", "invariant-calls.txt"))
    return dest


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    base = tmp_path_factory.mktemp("newcomer.x")  # a dot in a folder above the clone
    repo = _clone(base / "repo")
    home = base / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FATHOM_", "VIRTUAL_ENV", "BROWNIE"))}
    env.update(HOME=str(home), PYTHONPATH=str(repo), PY_COLORS="0",
               PATH=os.pathsep.join([str(repo / ".venv" / "bin"), env.get("PATH", "")]))
    which = subprocess.run([sys.executable, "-c", "import fathom.config as c; print(c.PROJECT_ROOT)"], cwd=repo, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert which == str(repo) and "." in str(repo.parent), which
    script = repo / "walkthrough.sh"
    script.write_text(walkthrough())
    proc = subprocess.Popen(["bash", "-eo", "pipefail", str(script)], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        pytest.fail(f"the walkthrough did not finish in 900 s:\n{out[-6000:]}\n{_logs(repo)}", pytrace=False)
    finally:
        try:  # anything it left behind: SIGTERM lets the devnet stop its chain
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    if proc.returncode != 0:
        pytest.fail(f"the walkthrough failed (exit {proc.returncode}):\n{out[-6000:]}\n{_logs(repo)}", pytrace=False)
    return {"repo": repo, "home": home, "out": out}


def _logs(repo: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2500:]}" for p in sorted(repo.glob("*.log")))


def test_the_deployment_was_written_inside_the_dotted_clone(newcomer):
    record = json.loads((newcomer["repo"] / "deployments" / "devnet.json").read_text())
    assert record["chain_id"] == 31337 and set(record["contracts"]) == {"KeyRegistry", "OracleRegistry", "BountyMarketExtension", "BountyMarket"}
    for text in (newcomer["out"], (newcomer["repo"] / "devnet.log").read_text()):
        assert "Traceback" not in text, text[max(0, text.find("Traceback") - 300):][:3000]
    assert "devnet stopped" in (newcomer["repo"] / "devnet.log").read_text()  # `kill` stopped it cleanly


def test_three_oracle_daemons_scored_and_every_submission_was_decided(newcomer):
    outcomes = [json.loads(line) for line in newcomer["out"].splitlines() if line.startswith('{"outcome"')]
    assert len(outcomes) == 3 and all(o["outcome"] in ("accepted", "rejected") for o in outcomes), outcomes
    assert any(o["outcome"] == "accepted" for o in outcomes)
    for i in (1, 2, 3):
        log = (newcomer["repo"] / f"oracle{i}.log").read_text()
        assert "batch 0" in log and "Traceback" not in log, log[-2000:]


def test_the_claims_pay_every_party_exactly_and_the_audit_agrees(newcomer):
    claims = [json.loads(line) for line in newcomer["out"].splitlines() if line.startswith('{"account"')]
    assert len(claims) == 7
    requester, oracles, contributors = claims[0], claims[1:4], claims[4:]
    assert all(c["total"] > 0 for c in oracles), "an oracle earned no fee"
    assert requester["total"] > 0  # the refund of what was not earned, and the reveal bond
    assert all(c["total"] >= STAKE for c in contributors)  # nobody honest was slashed: stakes came back
    assert sum(c["total"] for c in contributors) > 3 * STAKE  # and a reward on top
    assert "no differences" in newcomer["out"]
    assert re.search(r"wrote \S+bounty-1\.png", newcomer["out"])
    assert (newcomer["repo"] / "reports" / "bounty-1.png").stat().st_size > 10_000


def test_the_readme_walkthrough_uses_every_role_command():
    script = walkthrough()
    for command in ("fathom devnet", "fathom keys publish", "fathom oracle stake", "fathom oracle run",
                    "fathom bounty open", "fathom contribute", "fathom outcome", "fathom bounty cancel",
                    "fathom bounty reveal", "fathom claim", "fathom audit", "fathom report"):
        assert command in script, command
