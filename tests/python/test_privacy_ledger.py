"""fathom.ml.privacy.ledger and .statement: a data owner's releases composed against its
budget, and the statement an update carries, as an oracle checks it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from fathom.ml import privacy as P
from fathom.ml.privacy.ledger import BudgetExceeded, Ledger, fingerprint
from fathom.ml.training import clip_update

X = np.arange(40, dtype=np.float32).reshape(10, 4)
Y = np.arange(10, dtype=np.int64) % 2


def test_the_fingerprint_is_the_data_not_its_name():
    assert fingerprint(X, Y) == fingerprint(X.copy(), Y.copy())
    assert fingerprint(X, Y) != fingerprint(X[:-1], Y[:-1])  # one row less: another data set
    assert fingerprint(X, Y) != fingerprint(X.astype(np.float64), Y)


def test_releases_compose_across_bounties_and_the_ledger_refuses_one_over_budget(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    fp = fingerprint(X, Y)
    release = P.Release("gaussian", 2.0)
    spent = []
    for bounty in (1, 2, 3):
        spent.append(ledger.record(fp, release, budget=4.0, delta=1e-5, bounty=bounty).spent)
    # composition, not a sum of per-release epsilons, and not one release's epsilon
    assert spent == sorted(spent) and spent[0] == pytest.approx(P.epsilon_for(2.0, 1e-5), abs=1e-9)
    assert spent[2] == pytest.approx(P.epsilon_for(2.0, 1e-5, 3), abs=1e-9)
    assert spent[2] < 3 * spent[0]
    # a fourth release would cost epsilon(4 releases) > 4: refused, and nothing is written
    assert P.epsilon_for(2.0, 1e-5, 4) > 4.0
    before = (tmp_path / "ledger.json").read_text()
    with pytest.raises(BudgetExceeded, match="over your budget of 4"):
        ledger.record(fp, release, budget=4.0, delta=1e-5, bounty=4)
    assert (tmp_path / "ledger.json").read_text() == before
    s = ledger.spending(fp)
    assert (s.releases, s.budget, s.delta, s.unit) == (3, 4.0, 1e-5, "contribution")
    assert s.remaining == pytest.approx(4.0 - spent[2])
    assert "3 release(s)" in str(s) and "remaining" in str(s)
    stored = json.loads((tmp_path / "ledger.json").read_text())
    assert [r["bounty"] for r in stored["datasets"][fp]["releases"]] == [1, 2, 3]


def test_a_release_without_noise_spends_everything(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    fp = fingerprint(X, Y)
    ledger.record(fp, P.Release("none"), budget=10.0, delta=1e-5, enforce=False)
    assert math.isinf(ledger.spending(fp).spent) and ledger.spending(fp).remaining == 0.0
    with pytest.raises(BudgetExceeded, match="already released without noise"):
        ledger.check(fp, P.Release("gaussian", 5.0), 10.0, 1e-5)


def test_a_corrupt_ledger_is_reported_not_overwritten(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text("{not json")
    with pytest.raises(P.PrivacyError, match="not valid JSON"):
        Ledger(path).record(fingerprint(X, Y), P.Release("gaussian", 1.0), 10.0, 1e-5)
    assert path.read_text() == "{not json"


# ---------------------------------------------------------------------------------------
# The statement, as the oracle checks it
# ---------------------------------------------------------------------------------------


def _update(d=2_000, seed=0):
    rng = np.random.default_rng(seed)
    return clip_update({"W0": rng.standard_normal((d // 4, 4)).astype(np.float32)}, 1.0)


def test_an_honest_statement_passes():
    noisy, s = P.privatize(_update(), 1.0, 1.0, 1e-5)
    assert P.check_statement(s.as_dict(), noisy) == s
    assert P.check_statement(s.as_dict(), noisy, max_epsilon=s.epsilon + 0.1) == s
    assert P.check_statement(None, noisy) is None


def test_attack_state_noise_but_send_the_clean_update():
    """A contributor claims (eps, delta)-DP to pass a bounty's limit, but sends the clipped
    update without the noise: its norm is far below what the stated noise gives."""
    clean = _update()
    _, s = P.privatize(clean, 1.0, 1.0, 1e-5)
    with pytest.raises(P.StatementError, match="the stated noise is not there") as err:
        P.check_statement(s.as_dict(), clean)
    assert err.value.reason == "noise"


def test_attack_state_a_clip_norm_smaller_than_the_update():
    noisy, s = P.privatize(_update(), 1.0, 1.0, 1e-5)
    lie = s.as_dict() | {"clip_norm": 0.1}  # claims 10x less noise std than the update carries... and a smaller clip
    lie["epsilon"] = s.epsilon
    with pytest.raises(P.StatementError, match="not there"):
        P.check_statement(lie, noisy)


def test_attack_understate_epsilon():
    noisy, s = P.privatize(_update(), 1.0, 1.0, 1e-5)
    with pytest.raises(P.StatementError, match="its mechanism gives"):
        P.check_statement(s.as_dict() | {"epsilon": s.epsilon / 2}, noisy)


def test_attack_state_an_epsilon_above_the_bountys_largest():
    noisy, s = P.privatize(_update(), 1.0, 1.0, 1e-5)
    with pytest.raises(P.StatementError, match="above the bounty's largest epsilon") as err:
        P.check_statement(s.as_dict(), noisy, max_epsilon=1.0)
    assert err.value.reason == "over_epsilon"
    with pytest.raises(P.StatementError, match="states no privacy"):
        P.check_statement(None, noisy, max_epsilon=1.0)


@pytest.mark.parametrize("change", [{"accountant": "rdp"}, {"unit": "record"}, {"delta": 0}, {"epsilon": float("nan")},
                                    {"mechanism": "laplace"}, {"extra": 1}, {"noise_multiplier": True}])
def test_a_malformed_statement_is_refused(change):
    noisy, s = P.privatize(_update(), 1.0, 1.0, 1e-5)
    with pytest.raises(P.StatementError):
        P.check_statement(s.as_dict() | change, noisy)


def test_the_statement_travels_in_an_update_container_and_nowhere_else():
    from fathom.ml import artefacts
    from fathom.ml.models import make_manifest

    manifest = make_manifest("softmax", 4, 3, metric="accuracy")
    rng = np.random.default_rng(1)
    update = clip_update({"W0": rng.standard_normal((4, 3)).astype(np.float32), "b0": np.zeros(3, np.float32)}, 1.0)
    noisy, s = P.privatize(update, 1.0, 1.0, 1e-5)
    blob = artefacts.pack_update(manifest | {"privacy": s.as_dict()}, noisy)
    assert blob[4] == 3 and artefacts.CONTAINER_VERSION == 4  # version 3: an update with a privacy statement
    assert P.PrivacyStatement.from_dict(artefacts.unpack_update(blob).manifest["privacy"]) == s
    with pytest.raises(artefacts.ArtefactSchemaError, match="unknown key 'privacy'"):
        artefacts.pack_model(manifest | {"privacy": s.as_dict()}, noisy)
    with pytest.raises(artefacts.ArtefactSchemaError, match="'privacy' must be a JSON object"):
        artefacts.pack_update(manifest | {"privacy": 4.0}, noisy)


def test_attack_a_statement_that_would_make_the_oracle_account_forever():
    """A statement with a billion DP-SGD steps, or one whose epsilon is astronomically
    large, must not make every oracle build a PRV grid of terabytes: the steps are bounded
    (refused as malformed) and a hopeless composition is quoted at its quick RDP bound."""
    _, s = P.privatize(_update(), 1.0, 1.0, 1e-5)
    record = s.as_dict() | {"mechanism": "dp-sgd", "unit": "record", "sampling_rate": 0.5}
    with pytest.raises(P.StatementError, match="steps must be"):
        P.check_statement(record | {"steps": 10**9}, None)
    hopeless = P.compose([P.Release("dp-sgd", 0.1, "add_remove", 0.5, 20_000)], 1e-5)  # the grid would need ~1 TB
    assert hopeless > 1e5


def test_a_release_without_noise_keeps_the_owners_budget(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    fp = fingerprint(X, Y)
    ledger.record(fp, P.Release("gaussian", 2.0), budget=3.0, delta=1e-6)
    ledger.record(fp, P.Release("none"), None, None, enforce=False)
    s = ledger.spending(fp)
    assert (s.budget, s.delta, s.releases) == (3.0, 1e-6, 2) and math.isinf(s.spent)
