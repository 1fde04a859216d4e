"""A demo round on a local chain that stays up, for the dApp page and its browser test.

`fathom.cli.demo.run` starts its own chain and stops it at the end, and has everyone claim.
This driver runs the same round (the same 3 oracle daemons, requester and 6 contributors
with the same shards and training plans; c5 sends a harmful update) on a chain it keeps
running, with two differences that give the page more to show:

- bounty 1 pays along a concave curve (breakpoints (0,0), (0.3,0.6), (1,1)) instead of
  the linear default, and nobody claims after the reveal except the requester and the
  oracles, so the contributors' rewards and returned stakes are still claimable;
- a second bounty (0.5 ETH, linear curve) is opened after the oracles stop, so it stays
  AwaitingBaseline;
- c0's second contribution is one-off (submitUpdateOnce, rule U6), so the page has a payout
  to claim with a proof (rule P3) besides c0's claimable balance;
- a third bounty in the encrypted-weights mode (SPECIFICATION F13), also awaiting its
  baseline, and a small IPFS gateway over the round's store (`/ipfs/<cid>`, with oracle0's
  disclosure of bounty 1's update keys at `/keys.json`), so the page can show each
  bounty's mode and each version's privacy statement (issue 16).

It then writes `<workdir>/round.json`: the node's URL, the deployment, the wallet the test
uses (contributor c0: a throwaway key made for this throwaway chain) and what the page
must show, read with web3.py straight from the chain (views and events), so the browser
test compares the page (ethers) with an independent reader.

Usage:
  python tests/browser/demo_round.py [--chain anvil|ganache] [--workdir DIR]

It prints `demo-round: ready <round.json>` and keeps the chain up until its standard
input closes (the test runner holds a pipe) or it gets SIGINT/SIGTERM. By hand, it also
prints the page's address for `python -m http.server -d frontend` (after
`node frontend/build.mjs`).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any


from fathom.roles.contributor import payouts_owed
from fathom.chain.client import ETH, LocalChain
from fathom.cli.demo import Party, play_round
from fathom.errors import FathomError
from fathom.chain.market import STATES, WAD, Market
from fathom.roles.requester import default_terms, lineage, open_bounty, payouts
from fathom.storage.store import EmbeddedStore

NETWORK = "browser"
CURVE = ([0, 3 * WAD // 10, WAD], [0, 6 * WAD // 10, WAD])


def log(msg: str) -> None:
    print(f"demo-round: {msg}", flush=True)


# ------------------------------------------------------------------ formatting the page must match
# Written with Decimal here and with BigInt in the page: two implementations of one rule.


def eth_text(wei: int, decimals: int = 6) -> str:
    """Wei as ETH rounded half-up to `decimals`, without trailing zeros ("1", "0.35")."""
    q = (Decimal(wei) / Decimal(10**18)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = format(q, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def fraction_text(wad: int) -> str:
    """A WAD fraction exactly, without trailing zeros ("0.3", "1")."""
    text = format(Decimal(wad) / Decimal(10**18), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def score_text(score: int | None, resolution: int) -> str:
    if score is None:
        return "-"
    if score == 2**32 - 1:
        return "invalid"
    decimals = max(0, 18 - (len(str(resolution)) - 1))
    return f"{Decimal(score) * Decimal(resolution) / Decimal(10**18):.{decimals}f}"


# ------------------------------------------------------------------ the round


def run_round(chain: LocalChain, workdir: Path) -> dict[str, Any]:
    """The demo's round (fathom.cli.demo.play_round) on `chain` with a concave curve, then a
    second bounty nobody scores, and claims by the requester and the oracles only."""
    store = EmbeddedStore(workdir / "store")
    r = play_round(chain, workdir, store, log, network=NETWORK, curve=CURVE, one_off=(("c0", 1),))
    requester, parties, market_for = r["requester"], r["parties"], r["market_for"]
    # a second bounty nobody scores: the oracles are gone, so it waits for its baseline
    second = open_bounty(requester, store, parties["requester"].key, workdir / "requester2",
                         (r["manifest"], r["seed_params"]), r["validation"],
                         default_terms(requester.now(), r["committee"], reward=WAD // 2, target=9_500))
    log(f"bounty {second.bounty_id} opened, awaiting its baseline")
    third = open_bounty(requester, store, parties["requester"].key, workdir / "requester3",
                        (r["manifest"], r["seed_params"]), r["validation"],
                        default_terms(requester.now(), r["committee"], reward=WAD // 4, target=9_500), encrypted_weights=True)
    log(f"bounty {third.bounty_id} opened in the encrypted-weights mode, awaiting its baseline")
    r["encrypted_bounty"] = third.bounty_id
    r["store"] = store
    for name in ("requester", "oracle0", "oracle1", "oracle2"):
        market_for(parties[name]).claim(ETH)
    return r


# ------------------------------------------------------------------ what the page must show


def expectations(w3: Any, addresses: dict[str, str], parties: dict[str, Party], bid: int) -> dict[str, Any]:
    viewer = Market(w3, addresses)
    m = viewer.market
    names = {p.address: n for n, p in parties.items()}
    bounties = []
    for i in range(1, m.functions.bountyCount().call() + 1):
        b = viewer.bounty(i)
        params = viewer.opened_params(i)
        xs, ys = m.functions.getCurve(i).call()
        res = int(params["resolution"])
        bounties.append({
            "id": i, "state": STATES[m.functions.state(i).call()], "reward_wei": str(b["reward"]),
            "reward_text": eth_text(b["reward"]), "token": b["token"],
            "curve": [[str(x), str(y)] for x, y in zip(xs, ys)],
            "curve_text": [[fraction_text(x), fraction_text(y)] for x, y in zip(xs, ys)],
            "head_score": b["headScore"], "head_text": score_text(b["headScore"] if b["baselineSet"] else None, res),
            "version_count": b["versionCount"], "submission_count": b["submissionCount"],
            "resolution": str(res),
        })
    versions = lineage(viewer, bid)
    res = int(viewer.opened_params(bid)["resolution"])
    contributors = {}
    for addr, row in payouts(viewer, bid).items():
        contributors[addr] = {
            **row, "reward": str(row["reward"]), "burned": str(row["burned"]), "name": names.get(addr, ""),
            "reward_text": eth_text(row["reward"]), "burned_text": eth_text(row["burned"]),
            "claimable": str(viewer.claimable(addr, ETH)),
        }
    return {
        "bounty": bid,
        "bounties": bounties,
        "versions": [{"version": v["version"], "parent": v["parent"], "score": v["score"],
                      "score_text": score_text(v["score"], res), "author": v["author"], "reward": str(v["reward"]),
                      "reward_text": eth_text(v["reward"])} for v in versions],
        "contributors": contributors,
    }


def start_gateway(store: EmbeddedStore, files: dict[str, bytes]) -> tuple[Any, str]:
    """A read-only IPFS gateway over the round's store for the page (GET /ipfs/<cid>, and the
    given extra files), with CORS, on a free port; returns (server, its /ipfs/ URL)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from fathom.chain.client import free_port
    from fathom.roles.reader import MAX_ARTEFACT_BYTES

    class Gateway(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            path = self.path.split("?")[0]
            try:
                body = files[path] if path in files else store.cat(path.removeprefix("/ipfs/"), MAX_ARTEFACT_BYTES)
            except (KeyError, FathomError):
                self.send_response(404)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/ipfs/"


def privacy_expectations(r: dict[str, Any], gateway: str) -> dict[str, Any]:
    """What the page's privacy section must show: bounty 1 is sealed (its brief too), every
    merged update of each version states no DP (read with oracle0's disclosed keys); the third
    bounty is in the encrypted-weights mode; and a sample sealed DP update with its key,
    which the page must read as the statement below."""
    import numpy as np

    from fathom.crypto.envelope import open_envelope, seal_for
    from fathom.ml import models
    from fathom.ml.artefacts import pack_update
    from fathom.roles.reader import BountyReader
    from fathom.storage.store import cid_from_chain

    viewer = Market(r["w3"], r["addresses"])
    bid, store = r["bounty"], r["store"]
    reader = BountyReader(viewer, store, bid)
    # every merged update of each version (R5), in submission-id order
    received = {int(e["submissionId"]): e for e in reader.events if e.name == "SubmissionReceived"}
    merged = [(int(v["version"]), i) for v in reader.events if v.name == "VersionAccepted"
              for i in sorted(int(e["submissionId"]) for e in reader.events if e.name == "UpdateMerged" and e.tx == v.tx)]
    authors = {cid_from_chain(*received[i]["update"]): received[i]["contributor"] for _, i in merged}
    keys = BountyReader(viewer, store, bid, r["parties"]["oracle0"].key).disclose(authors)
    opener = BountyReader(viewer, store, bid, update_keys=keys)
    rows = []
    for version, i in merged:
        cid = cid_from_chain(*received[i]["update"])
        if opener.open_update(cid, authors[cid], key=keys[cid]).manifest.get("privacy") is not None:
            raise FathomError("the demo round's updates were expected to state no differential privacy")
        rows.append({"version": str(version), "submission": str(i), "text": "no differential privacy stated"})
    manifest = models.make_manifest("softmax", 4, 3)
    delta = {k: np.zeros_like(v) for k, v in models.init_model(manifest, seed=0).items()}
    statement = {"mechanism": "gaussian", "unit": "contribution", "epsilon": 4.3812, "delta": 1e-5, "accountant": "prv"}
    c0 = r["parties"]["c0"]
    from fathom.crypto.envelope import public_key_of

    sealed = seal_for(pack_update(manifest | {"privacy": statement}, delta), {c0.address: public_key_of(c0.key)}, bid,
                      "update", c0.address)
    sample_key = open_envelope(sealed, private_key=c0.key).key
    return {"ipfs": gateway, "keys": gateway.removesuffix("ipfs/") + "keys.json",
            "keys_json": json.dumps({cid: k.hex() for cid, k in keys.items()}).encode(),
            "bounty": bid, "mode": "sealed", "max_epsilon_text": "not readable here (the brief is sealed)",
            "rows": rows, "encrypted": {"id": r["encrypted_bounty"], "mode": "encrypted-weights"},
            "sample": {"blob": sealed.hex(), "key": sample_key.hex(),
                       "text": "(4.381, 1e-5)-DP per contribution: gaussian, PRV accountant"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", choices=("anvil", "ganache"), default="anvil")
    parser.add_argument("--workdir", type=Path, help="the round's files (default: a fresh temp folder)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fathom-browser-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    # Until the round is ready, SIGINT/SIGTERM abort it (the daemons and the chain are stopped
    # on the way out); afterwards they end the wait.
    stop = threading.Event()
    ready = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if ready.is_set():
            stop.set()
        else:
            raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)

    with LocalChain(args.chain, accounts=2) as chain:
        r = run_round(chain, workdir)
        w3, parties = r["w3"], r["parties"]
        files: dict[str, bytes] = {}
        gateway_server, gateway = start_gateway(r["store"], files)
        privacy = privacy_expectations(r, gateway)
        files["/keys.json"] = privacy.pop("keys_json")
        wallet = parties["c0"]
        out = {
            "rpc": chain.url, "chain": args.chain, "chain_id": w3.eth.chain_id, "market": r["addresses"]["BountyMarket"],
            "deployment": r["record"], "not_market": r["addresses"]["KeyRegistry"],
            "wallet": {"name": "c0", "address": wallet.address, "private_key": "0x" + wallet.key.hex(),
                       "claimable": str(Market(w3, r["addresses"]).claimable(wallet.address, ETH)),
                       "payouts": [{"submission": p["submissionId"], "amount": str(p["amount"]), "position": p["position"]}
                                   for p in payouts_owed(Market(w3, r["addresses"]), wallet.address)]},
            **expectations(w3, r["addresses"], parties, r["bounty"]),
            "privacy": privacy,
            "seconds": round(time.monotonic() - started, 1),
        }
        path = workdir / "round.json"
        path.write_text(json.dumps(out, indent=2) + "\n")
        log(f"round done in {out['seconds']} s")
        if sys.stdin.isatty():
            log(f"page: http://127.0.0.1:8000/?rpc={chain.url}&market={out['market']} "
                "(after `node frontend/build.mjs && python -m http.server -d frontend 8000`); Ctrl-C stops the chain")
        ready.set()
        log(f"ready {path}")

        def wait_stdin() -> None:
            try:
                while sys.stdin.read(4096):
                    pass
            except (OSError, ValueError):
                pass
            stop.set()

        if not sys.stdin.isatty():
            threading.Thread(target=wait_stdin, daemon=True).start()
        while not stop.wait(0.5):
            pass
        gateway_server.shutdown()
        log("stopping the chain")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except FathomError as exc:
        print(f"demo-round: error: {exc}", file=sys.stderr)
        sys.exit(1)
