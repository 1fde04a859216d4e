"""fathom.storage.store: CIDs, the embedded store, and a real IPFS node (js-ipfs, the
`ipfs_api` fixture) giving the same CIDs."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import random
import socket
import threading
import time

import ipfshttpclient
import pytest

from fathom.storage import store as storage
from fathom.cli import main
from fathom.config import Settings
from fathom.errors import ConfigError, FathomError
from fathom.storage.store import (
    CHUNK_SIZE,
    CODEC_DAG_PB,
    CODEC_RAW,
    MAX_LINKS,
    CidBuilder,
    CidNotFound,
    ContentTooLarge,
    EmbeddedStore,
    HashMismatch,
    InvalidCid,
    IpfsStore,
    StoreError,
    StoreTimeout,
    StoreUnavailable,
    cid_from_chain,
    cid_to_chain,
    compute_cid,
    compute_file_cid,
    open_store,
)

MB = 1_000_000
SIZES = [
    0,
    1,
    CHUNK_SIZE - 1,
    CHUNK_SIZE,
    CHUNK_SIZE + 1,
    MAX_LINKS * CHUNK_SIZE - 1,
    MAX_LINKS * CHUNK_SIZE,  # one full dag-pb node
    MAX_LINKS * CHUNK_SIZE + 1,  # two levels of dag-pb nodes
    5 * MB,
]
# Known CIDs (from `ipfs add --cid-version=1 --raw-leaves`), so that the CID code is
# pinned down even where no node runs.
EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
HELLO_CID = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
X262145_CID = "bafybeigjxpfr7pbb35st2scup3gosnljuw4j3wu5cm7yndynm4asxugtqm"
X262145_ROOT = bytes.fromhex(
    "122c0a2401551220d509bff642a353f88582e8a846ecae041c333b79c57a7a24ff310fbdb7e914e9120018808010"
    "122a0a24015512202d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881120018010a0c"
    "080218818010208080102001"
)
ABSENT_CID = compute_cid(b"fathom: content that nobody ever added")


def pseudo_random(size: int, seed: int = 0) -> bytes:
    return random.Random(f"fathom-{seed}-{size}").randbytes(size)


def node_add(api: str, data: bytes) -> str:
    """What the node itself says, through ipfshttpclient, for `ipfs add --cid-version=1 --raw-leaves`."""
    client = ipfshttpclient.Client(api, timeout=120)
    return client.add(io.BytesIO(data), cid_version=1, raw_leaves=True, opts={"cid-base": "base32"})["Hash"]


# --- CIDs without a node ----------------------------------------------------------


def test_known_cids_of_small_content_are_single_raw_blocks():
    assert compute_cid(b"") == EMPTY_CID
    assert compute_cid(b"hello") == HELLO_CID
    digest, codec = cid_to_chain(compute_cid(b"hello"))
    assert (digest, codec) == (hashlib.sha256(b"hello").digest(), CODEC_RAW)
    assert cid_to_chain(compute_cid(pseudo_random(CHUNK_SIZE)))[1] == CODEC_RAW
    assert cid_to_chain(compute_cid(pseudo_random(CHUNK_SIZE + 1)))[1] == CODEC_DAG_PB


def test_a_two_leaf_file_has_the_exact_root_block_of_ipfs():
    blocks: list[tuple[str, bytes]] = []
    builder = CidBuilder(on_block=lambda cid, block: blocks.append((cid, block)))
    builder.update(b"x" * (CHUNK_SIZE + 1))
    assert builder.finish() == X262145_CID
    assert [len(b) for _, b in blocks] == [CHUNK_SIZE, 1, len(X262145_ROOT)]
    assert blocks[-1] == (X262145_CID, X262145_ROOT)
    for cid, block in blocks:  # every block is addressed by its own hash
        assert cid_to_chain(cid)[0] == hashlib.sha256(block).digest()


def _reference_cid(n_leaves: int, max_links: int) -> tuple[str, int]:
    """js-ipfs' balanced reducer, written layer by layer: batch the nodes of a layer by
    max_links, make a parent of each batch, repeat until one node is left. Returns the
    root CID and the depth of the tree."""
    chunks = [bytes([i % 251]) for i in range(n_leaves)]
    layer = []
    for chunk in chunks:
        cid = storage._cid_bytes(CODEC_RAW, hashlib.sha256(chunk).digest())
        layer.append(storage._Link(cid, 1, 1))
    if len(layer) == 1:
        return storage._cid_string(layer[0].cid), 0
    depth = 0
    while len(layer) > 1 or depth == 0:
        parents = []
        for i in range(0, len(layer), max_links):
            links = layer[i : i + max_links]
            block = storage._parent_block(links)
            cid = storage._cid_bytes(CODEC_DAG_PB, hashlib.sha256(block).digest())
            parents.append(storage._Link(cid, len(block) + sum(l.tsize for l in links), sum(l.filesize for l in links)))
        layer, depth = parents, depth + 1
    return storage._cid_string(layer[0].cid), depth


def test_the_streaming_builder_makes_the_same_tree_as_the_layered_balanced_reducer():
    # With 3 links per node, 1..90 leaves cover trees of depth 0 to 5, every partial
    # last node at every level (what 174 links and a few GB would take in real sizes).
    depths = set()
    for n in range(1, 91):
        builder = CidBuilder(chunk_size=1, max_links=3)
        builder.update(bytes(i % 251 for i in range(n)))
        expected, depth = _reference_cid(n, 3)
        assert builder.finish() == expected, n
        depths.add(depth)
    assert depths == {0, 1, 2, 3, 4, 5}


def test_cids_do_not_depend_on_how_the_data_is_fed():
    data = pseudo_random(3 * CHUNK_SIZE + 12345)
    expected = compute_cid(data)
    for piece in (1000, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 7, 1 << 20):
        builder = CidBuilder()
        for i in range(0, len(data), piece):
            builder.update(data[i : i + piece])
        assert builder.finish() == expected, piece
        assert builder.size == len(data)
    assert compute_cid(data[:-1]) != expected


def test_compute_file_cid_streams_the_file(tmp_path, monkeypatch):
    data = pseudo_random(3 * MB)
    path = tmp_path / "model.npy"
    path.write_bytes(data)
    reads: list[int] = []
    real_open = open

    class Spy(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def read(self, n=-1):
            assert n is not None and 0 < n <= 1 << 20, "read the whole file at once"
            out = self.f.read(n)
            reads.append(len(out))
            return out

        def __exit__(self, *a):
            self.f.close()

    monkeypatch.setattr(storage, "open", lambda p, mode="r": Spy(real_open(p, mode)), raising=False)
    assert compute_file_cid(path) == compute_cid(data)
    assert sum(reads) == len(data) and max(reads) <= 1 << 20 and len(reads) >= 3


@pytest.mark.parametrize("data", [b"", b"tiny", pseudo_random(CHUNK_SIZE + 1)], ids=["empty", "raw", "dag-pb"])
def test_cids_round_trip_through_their_on_chain_form(data):
    cid = compute_cid(data)
    digest, codec = cid_to_chain(cid)
    assert isinstance(digest, bytes) and len(digest) == 32
    assert codec == (CODEC_DAG_PB if len(data) > CHUNK_SIZE else CODEC_RAW)
    assert cid_from_chain(digest, codec) == cid
    # The codec is part of the CID: the same digest with the other codec is another CID.
    other = cid_from_chain(digest, CODEC_RAW if codec == CODEC_DAG_PB else CODEC_DAG_PB)
    assert other != cid and other.startswith("b")


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "CIDv0"),
        (HELLO_CID.upper(), "base32 CIDv1"),
        (storage._cid_string(storage._cid_bytes(CODEC_RAW, bytes(32))[:-3]), "digest of 29 bytes"),
        (HELLO_CID[:-4], "not valid base32"),
        (HELLO_CID[:-1] + "r", "canonical"),  # same bytes, other unused trailing bits
        (storage._cid_string(b"\x01\x55\x12"), "truncated"),
        (storage._cid_string(storage._cid_bytes(0x71, bytes(32))), "codec 0x71"),  # dag-cbor
        (storage._cid_string(b"\x01\x55\x13\x20" + bytes(32)), "sha2-256"),  # sha2-512 code
        ("", "base32 CIDv1"),
    ],
)
def test_malformed_cids_are_refused_with_the_reason(bad, reason):
    with pytest.raises(InvalidCid, match=reason):
        cid_to_chain(bad)
    with pytest.raises(InvalidCid):
        EmbeddedStore("/nonexistent").cat(bad, 10)


def test_cid_from_chain_takes_a_bytes32_as_brownie_returns_it():
    cid = compute_cid(pseudo_random(CHUNK_SIZE + 1))
    digest, codec = cid_to_chain(cid)
    assert cid_from_chain("0x" + digest.hex(), codec) == cid
    assert cid_from_chain(bytearray(digest), codec) == cid
    with pytest.raises(InvalidCid, match="hex"):
        cid_from_chain("0xzz", codec)


def test_cid_from_chain_checks_its_input():
    with pytest.raises(InvalidCid, match="32 bytes"):
        cid_from_chain(b"\x00" * 31, CODEC_RAW)
    with pytest.raises(InvalidCid, match="codec"):
        cid_from_chain(b"\x00" * 32, 0x71)
    assert issubclass(InvalidCid, ValueError) and issubclass(InvalidCid, FathomError)


# --- the embedded store ---------------------------------------------------------


def test_embedded_store_round_trips_and_pins_on_add(tmp_path):
    store = EmbeddedStore(tmp_path)
    for size in (0, 10, CHUNK_SIZE + 1, 2 * MB):
        data = pseudo_random(size)
        cid = store.add(data)
        assert cid == compute_cid(data)
        assert store.cat(cid, max_size=size) == data
        assert store.has(cid) and store.is_pinned(cid)
    assert store.add(b"again") == store.add(b"again")
    leftovers = [p for p in tmp_path.rglob(".tmp-*")]
    assert leftovers == []


def test_embedded_cat_refuses_more_than_max_size(tmp_path):
    store = EmbeddedStore(tmp_path)
    cid = store.add(b"x" * 1000)
    assert store.cat(cid, 1000) == b"x" * 1000
    with pytest.raises(ContentTooLarge, match="1000 bytes, more than the limit of 999"):
        store.cat(cid, 999)
    with pytest.raises(ValueError):
        store.cat(cid, -1)


def test_a_tampered_embedded_block_is_detected(tmp_path):
    store = EmbeddedStore(tmp_path)
    data = pseudo_random(CHUNK_SIZE + 100)
    cid = store.add(data)
    path = store.path_of(cid)
    tampered = bytearray(path.read_bytes())
    tampered[CHUNK_SIZE + 5] ^= 1  # one bit in the second leaf
    path.write_bytes(bytes(tampered))
    with pytest.raises(HashMismatch, match=cid):
        store.cat(cid, len(data))
    path.write_bytes(data[:-1])  # truncated
    with pytest.raises(HashMismatch):
        store.cat(cid, len(data))
    assert store.add(data) == cid  # adding the content again repairs it
    assert store.cat(cid, len(data)) == data


def test_a_missing_cid_in_the_embedded_store_is_a_clear_error_at_once(tmp_path):
    store = EmbeddedStore(tmp_path)
    started = time.monotonic()
    with pytest.raises(CidNotFound, match=f"{ABSENT_CID} is not in the embedded store"):
        store.cat(ABSENT_CID, 100)
    with pytest.raises(CidNotFound, match="every party on this machine must use the same FATHOM_STORE_DIR"):
        store.pin(ABSENT_CID)
    with pytest.raises(CidNotFound, match="same FATHOM_STORE_DIR"):  # the usual cause, named in the message
        store.cat(ABSENT_CID, 100)
    assert time.monotonic() - started < 1
    assert not store.has(ABSENT_CID) and not store.is_pinned(ABSENT_CID)


def test_embedded_pin_unpin_and_gc(tmp_path):
    store = EmbeddedStore(tmp_path)
    kept = store.add(b"kept")
    dropped = store.add(b"dropped", pin=False)
    unpinned = store.add(b"unpinned")
    assert not store.is_pinned(dropped)
    store.unpin(unpinned)
    store.unpin(unpinned)  # harmless the second time
    assert not store.is_pinned(unpinned)
    assert store.gc(grace=60) == []  # too young to collect
    assert sorted(store.gc(grace=0)) == sorted([dropped, unpinned])
    assert store.cat(kept, 10) == b"kept"
    with pytest.raises(CidNotFound):
        store.cat(dropped, 10)
    store.pin(kept)
    assert store.is_pinned(kept)


def test_embedded_writes_are_atomic(tmp_path, monkeypatch):
    store = EmbeddedStore(tmp_path)
    cid = compute_cid(b"model v2")

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage.os, "replace", crash)
    with pytest.raises(StoreError, match="No space left"):
        store.add(b"model v2")
    monkeypatch.undo()
    # Nothing half-written is visible, and no temporary file is left behind.
    assert not store.has(cid)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert store.add(b"model v2") == cid and store.cat(cid, 100) == b"model v2"


# --- choosing a back-end ----------------------------------------------------------


def test_open_store_is_embedded_in_the_data_dir_unless_ipfs_is_configured(tmp_path):
    store = open_store(Settings.from_env({"FATHOM_DATA_DIR": str(tmp_path)}))
    assert isinstance(store, EmbeddedStore) and store.root == tmp_path / "store"
    cid = store.add(b"abc")
    assert (tmp_path / "store").is_dir() and store.cat(cid, 3) == b"abc"

    ipfs = open_store(Settings.from_env({"FATHOM_IPFS_API": "/ip4/127.0.0.1/tcp/5001", "FATHOM_IPFS_TIMEOUT": "7"}))
    assert isinstance(ipfs, IpfsStore) and ipfs.api == "/ip4/127.0.0.1/tcp/5001" and ipfs.timeout == 7
    with pytest.raises(ConfigError, match="FATHOM_IPFS_API"):
        open_store(Settings.from_env({"FATHOM_IPFS_API": "not an address"}))
    assert storage._multiaddr("http://127.0.0.1:5001") == "/ip4/127.0.0.1/tcp/5001/http"


def test_an_unreachable_ipfs_api_is_a_clear_error():
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = IpfsStore(f"/ip4/127.0.0.1/tcp/{port}", timeout=2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"cannot reach the IPFS API at /ip4/127.0.0.1/tcp/{port}"):
        store.add(b"data")
    with pytest.raises(StoreUnavailable):
        store.cat(HELLO_CID, 10)
    assert time.monotonic() - started < 2
    assert issubclass(StoreUnavailable, ConnectionError)


def test_an_ipfs_api_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (the kernel does) but never answers
    try:
        store = IpfsStore(f"/ip4/127.0.0.1/tcp/{listener.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(StoreTimeout, match="did not answer within 1s"):
            store.pin(HELLO_CID)
        assert time.monotonic() - started < 5
        assert issubclass(StoreTimeout, TimeoutError)
    finally:
        listener.close()


class _LyingNode(http.server.BaseHTTPRequestHandler):
    """An IPFS API that serves other bytes than asked for (a corrupt or malicious node)."""

    payload = b"not what you asked for"

    def do_POST(self):
        if self.path.startswith("/api/v0/files/stat"):
            body = json.dumps({"Type": "file", "Size": len(self.payload)}).encode()
        elif self.path.startswith("/api/v0/cat"):
            body = self.payload
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_bytes_from_ipfs_that_do_not_match_the_cid_are_refused():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LyingNode)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = IpfsStore(f"/ip4/127.0.0.1/tcp/{server.server_address[1]}", timeout=5)
        with pytest.raises(HashMismatch, match=f"for {HELLO_CID} that hash to {compute_cid(_LyingNode.payload)}"):
            store.cat(HELLO_CID, 100)
    finally:
        server.shutdown()
        server.server_close()


class _DrippingClient:
    """An IPFS client whose node finds the file and then sends it one small chunk at a
    time, for ever (a provider that drips blocks). Counts the chunks sent and records the
    timeouts each request was given."""

    def __init__(self) -> None:
        self.sent = 0
        self.requests: list[tuple[str, object, object]] = []
        self.files = self

    def stat(self, path, opts=None):
        self.requests.append(("stat", (opts or {}).get("timeout"), None))
        return {"Type": "file", "Size": 10}

    def cat(self, cid, stream=False, timeout=None, opts=None):
        self.requests.append(("cat", (opts or {}).get("timeout"), timeout))
        client = self

        class Drip:
            def __iter__(self):
                while True:
                    client.sent += 1
                    yield b""  # nothing useful, slowly enough never to trip a per-read timeout

            def close(self):
                pass

        return Drip()


def test_an_ipfs_provider_that_drips_blocks_cannot_hold_a_fetch_past_its_deadline(monkeypatch):
    """The attack (issue 14 item 6): `IpfsStore.cat` had no overall deadline, so a provider
    that sends a little data before each read timeout held a fetch for as long as it liked.
    With `deadline=`, the node's own timeout of each request is cut to what is left, and the
    stream is checked at every chunk. A fake clock that moves one second per reading of it
    counts the work: the fetch ends `DeadlinePassed` (an `Unavailable`, not a Transient
    outage) after at most as many chunks as seconds it was given."""
    from types import SimpleNamespace

    from fathom.errors import Transient, Unavailable

    now = [1000.0]

    def monotonic() -> float:
        now[0] += 1.0
        return now[0]

    monkeypatch.setattr(storage, "time", SimpleNamespace(monotonic=monotonic))
    store = IpfsStore.__new__(IpfsStore)
    store.api, store.timeout, store._exc = "/ip4/127.0.0.1/tcp/1", 30.0, ipfshttpclient.exceptions
    store._client_timeout = 35.0
    store._client = client = _DrippingClient()
    with pytest.raises(storage.DeadlinePassed) as caught:
        store.cat(HELLO_CID, 100, deadline=now[0] + 10)
    assert isinstance(caught.value, Unavailable) and not isinstance(caught.value, Transient)
    assert client.sent <= 10, f"{client.sent} chunks read past a 10 s deadline"
    (_, stat_timeout, _), (_, node_timeout, client_timeout) = client.requests
    assert stat_timeout == "9000ms" and int(node_timeout.removesuffix("ms")) <= 8000 and client_timeout <= 8
    # without a deadline, the store's own timeout bounds the fetch the same way
    client.sent = 0
    with pytest.raises(storage.DeadlinePassed):
        store.cat(HELLO_CID, 100)
    assert client.sent <= 30


# --- against a real IPFS node -------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_embedded_and_ipfs_give_the_same_cids_and_content(size, ipfs_api, tmp_path):
    data = pseudo_random(size)
    expected = node_add(ipfs_api, data)  # the node's own answer
    ipfs = IpfsStore(ipfs_api, timeout=30)
    embedded = EmbeddedStore(tmp_path)
    assert compute_cid(data) == expected
    assert ipfs.add(data) == expected
    assert embedded.add(data) == expected
    assert ipfs.cat(expected, max_size=size) == data
    assert embedded.cat(expected, max_size=size) == data
    digest, codec = cid_to_chain(expected)
    assert cid_from_chain(digest, codec) == expected
    assert codec == (CODEC_RAW if size <= CHUNK_SIZE else CODEC_DAG_PB)


def test_ipfs_cat_refuses_more_than_max_size(ipfs_api):
    store = IpfsStore(ipfs_api, timeout=10)
    assert store.version() == "0.18.1"
    data = pseudo_random(3 * CHUNK_SIZE, seed=1)
    cid = store.add(data)
    assert store.cat(cid, len(data)) == data
    with pytest.raises(ContentTooLarge, match=f"{len(data)} bytes, more than the limit of {len(data) - 1}"):
        store.cat(cid, len(data) - 1)
    small = store.add(b"0123456789")
    with pytest.raises(ContentTooLarge):
        store.cat(small, 9)


def test_a_missing_cid_on_ipfs_is_a_clear_error_within_the_timeout(ipfs_api):
    # 3 s: the node's own timeout must answer before the client's (timeout + min(5, timeout));
    # at 1 s a node stalled for a second on a busy machine let the client's fire first
    store = IpfsStore(ipfs_api, timeout=3)
    started = time.monotonic()
    with pytest.raises(CidNotFound, match=f"{ABSENT_CID} not found: the IPFS node .* within 3s"):
        store.cat(ABSENT_CID, 100)
    assert time.monotonic() - started < 12
    started = time.monotonic()
    with pytest.raises(CidNotFound):
        store.pin(ABSENT_CID)
    assert time.monotonic() - started < 12
    assert store.is_pinned(ABSENT_CID) is False


def test_ipfs_pin_and_unpin(ipfs_api):
    store = IpfsStore(ipfs_api, timeout=10)
    cid = store.add(b"merged model v7", pin=False)
    assert store.is_pinned(cid) is False
    store.pin(cid)
    store.pin(cid)  # pinning twice is harmless
    assert store.is_pinned(cid) is True
    store.unpin(cid)
    assert store.is_pinned(cid) is False
    store.unpin(cid)  # and so is unpinning twice
    assert store.add(b"pinned by add") and store.is_pinned(compute_cid(b"pinned by add"))


def test_ipfs_content_in_another_layout_fails_the_cid_check(ipfs_api):
    # Same bytes, added with another chunker: a valid IPFS CID, but not the canonical
    # one, so the bytes cannot be checked against it and are refused.
    data = pseudo_random(5000, seed=2)
    client = ipfshttpclient.Client(ipfs_api, timeout=30)
    other = client.add(io.BytesIO(data), cid_version=1, raw_leaves=True, chunker="size-1000", opts={"cid-base": "base32"})["Hash"]
    assert other != compute_cid(data)
    with pytest.raises(HashMismatch, match=other):
        IpfsStore(ipfs_api, timeout=10).cat(other, 10_000)


def test_fathom_cid_prints_the_cid_the_node_gives(ipfs_api, tmp_path, capsys):
    for size in (0, 1000, MAX_LINKS * CHUNK_SIZE + 1):
        path = tmp_path / f"file{size}"
        data = pseudo_random(size, seed=3)
        path.write_bytes(data)
        assert main(["cid", str(path)]) == 0
        out = capsys.readouterr().out
        assert out == node_add(ipfs_api, data) + "\n"


def test_fathom_cid_of_a_missing_path_is_a_plain_error(tmp_path, capsys):
    assert main(["cid", str(tmp_path / "nope.npy")]) == 1
    err = capsys.readouterr().err
    assert err == f"fathom: error: cannot read {tmp_path / 'nope.npy'}: No such file or directory\n"
    assert main(["cid", str(tmp_path)]) == 1
    assert "is a directory" in capsys.readouterr().err


def test_an_ipfs_store_prints_no_urllib3_future_warning(ipfs_api):
    """ipfshttpclient 0.7 hands urllib3 2 a `strict` argument, and urllib3 warned about
    it on every command of a FATHOM_IPFS_API run; the store silences that one warning."""
    import subprocess
    import sys

    code = f"from fathom.storage.store import IpfsStore; s = IpfsStore({ipfs_api!r}); print(s.cat(s.add(b'hi'), 2))"
    proc = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "b'hi'", proc.stderr
    assert "FutureWarning" not in proc.stderr and proc.stderr == "", proc.stderr
