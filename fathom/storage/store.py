"""Content-addressed storage: one small interface, two back-ends, the same CIDs.

`Store` is what the rest of Fathom uses: `add` bytes and get a CID back, `cat` a CID
with a size cap (the bytes are checked against the CID before they are returned),
`pin` and `unpin`. `open_store(settings)` picks the back-end:

* `IpfsStore` (when FATHOM_IPFS_API is set) talks to a real IPFS node through
  `ipfshttpclient`, always with a timeout, since asking a node for a CID that nobody
  has otherwise waits forever.
* `EmbeddedStore` (the default) keeps content-addressed files under the data
  directory, so the demo works on a machine without a node.

Both give every piece of content the CID that ``ipfs add --cid-version=1
--raw-leaves`` gives it (base32 CIDv1, sha2-256, the default 262,144-byte chunker,
the balanced layout with at most 174 links per node): `compute_cid` builds that DAG
itself, block by block, without a node. On chain a CID is its sha2-256 digest
(bytes32) plus its codec (0x55 raw or 0x70 dag-pb): see `cid_to_chain` and
`cid_from_chain`.

Only CIDs of that canonical layout are accepted: content added with another chunker or
layout fails the CID check on `cat`, like corrupted content does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
import time
import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

from fathom.errors import ConfigError, FathomError, Transient, Unavailable

if TYPE_CHECKING:  # pragma: no cover
    from fathom.config import Settings

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINKS",
    "CODEC_RAW",
    "CODEC_DAG_PB",
    "StoreError",
    "StoreUnavailable",
    "StoreTimeout",
    "CidNotFound",
    "ContentTooLarge",
    "HashMismatch",
    "InvalidCid",
    "Store",
    "EmbeddedStore",
    "IpfsStore",
    "CidBuilder",
    "compute_cid",
    "compute_file_cid",
    "cid_to_chain",
    "cid_from_chain",
    "open_store",
]

#: Bytes per leaf: the default chunker of js-ipfs and kubo (``size-262144``).
CHUNK_SIZE = 262_144
#: Links per dag-pb node in the balanced layout of js-ipfs and kubo.
MAX_LINKS = 174
#: Multicodec of a raw block (a file of at most CHUNK_SIZE bytes, and every leaf).
CODEC_RAW = 0x55
#: Multicodec of a dag-pb node (the root of a file of more than CHUNK_SIZE bytes).
CODEC_DAG_PB = 0x70

_SHA2_256 = 0x12
_DIGEST_SIZE = 32
_UNIXFS_FILE = 2
_READ_SIZE = 1 << 20  # bytes read at a time from a file or a stream


# --- errors -------------------------------------------------------------------


class StoreError(FathomError):
    """Storage failed; the subclasses say why."""


class StoreUnavailable(StoreError, Transient, ConnectionError):
    """The IPFS API does not answer at its address (daemon not running, wrong FATHOM_IPFS_API)."""


class StoreTimeout(StoreError, Transient, TimeoutError):
    """The IPFS API accepted the connection but did not answer in time."""


class CidNotFound(StoreError, Unavailable, LookupError):
    """The store does not have the content (for IPFS: the node could not find it in time)."""


class DeadlinePassed(StoreError, Unavailable):
    """`cat`'s overall deadline passed before the whole content arrived (a provider that
    drips blocks cannot hold a fetch longer than the caller allows)."""


class ContentTooLarge(StoreError, ValueError):
    """The content is larger than the caller's limit; nothing more than the limit was read."""


class HashMismatch(StoreError, Unavailable, ValueError):
    """The bytes a store returned do not hash to the CID asked for (corrupt or tampered)."""


class InvalidCid(StoreError, ValueError):
    """Not a CID this system uses (base32 CIDv1, sha2-256, raw or dag-pb)."""


# --- CIDs, varints, base32 ------------------------------------------------------


def _varint(n: int) -> bytes:
    """Unsigned LEB128, as multiformats and protobuf use it."""
    if n < 0:
        raise ValueError("varint of a negative number")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); raises ValueError on a truncated or overlong varint."""
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _cid_bytes(codec: int, digest: bytes) -> bytes:
    """Binary CIDv1 with a sha2-256 multihash."""
    return _varint(1) + _varint(codec) + _varint(_SHA2_256) + _varint(len(digest)) + digest


def _cid_string(cid: bytes) -> str:
    """Multibase base32 (lower case, no padding, prefix ``b``)."""
    return "b" + base64.b32encode(cid).decode("ascii").lower().rstrip("=")


_BASE32_RE = re.compile(r"^b[a-z2-7]+$")


def _parse_cid(cid: str) -> tuple[int, bytes]:
    """(codec, sha2-256 digest) of a base32 CIDv1, or InvalidCid saying what is wrong."""
    if not isinstance(cid, str):
        raise InvalidCid(f"a CID is a string, not {type(cid).__name__}")
    shown = cid if len(cid) <= 80 else cid[:77] + "..."
    if cid.startswith("Qm"):
        raise InvalidCid(f"{shown!r} is a CIDv0; Fathom uses base32 CIDv1 (ipfs add --cid-version=1 --raw-leaves)")
    if not _BASE32_RE.match(cid):
        raise InvalidCid(f"{shown!r} is not a base32 CIDv1 (lower case, starting with 'b')")
    body = cid[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError:  # binascii.Error
        raise InvalidCid(f"{shown!r} is not valid base32") from None
    try:
        version, pos = _read_varint(raw, 0)
        codec, pos = _read_varint(raw, pos)
        hash_code, pos = _read_varint(raw, pos)
        length, pos = _read_varint(raw, pos)
    except ValueError:
        raise InvalidCid(f"{shown!r} is truncated") from None
    if version != 1:
        raise InvalidCid(f"{shown!r} is a CID version {version}; Fathom uses CIDv1")
    if codec not in (CODEC_RAW, CODEC_DAG_PB):
        raise InvalidCid(f"{shown!r} has codec 0x{codec:x}; Fathom accepts raw (0x55) and dag-pb (0x70)")
    if hash_code != _SHA2_256 or length != _DIGEST_SIZE:
        raise InvalidCid(f"{shown!r} does not use a sha2-256 hash")
    digest = raw[pos:]
    if len(digest) != _DIGEST_SIZE:
        raise InvalidCid(f"{shown!r} has a digest of {len(digest)} bytes, not 32")
    if _cid_string(raw) != cid:
        raise InvalidCid(f"{shown!r} is not in canonical form")
    return codec, digest


def cid_to_chain(cid: str) -> tuple[bytes, int]:
    """The on-chain form of a CID: its sha2-256 digest (bytes32) and codec (0x55 or 0x70)."""
    codec, digest = _parse_cid(cid)
    return digest, codec


def cid_from_chain(digest: bytes | str, codec: int) -> str:
    """The base32 CIDv1 string of an on-chain `Cid{bytes32 digest; uint8 codec}`; the
    digest may be bytes or a 0x-prefixed hex string (as brownie returns a bytes32)."""
    if isinstance(digest, str):
        try:
            digest = bytes.fromhex(digest[2:] if digest[:2] in ("0x", "0X") else digest)
        except ValueError:
            raise InvalidCid(f"a CID digest is 32 bytes of hex, not {digest!r}") from None
    digest = bytes(digest)
    if len(digest) != _DIGEST_SIZE:
        raise InvalidCid(f"a CID digest is 32 bytes, not {len(digest)}")
    if codec not in (CODEC_RAW, CODEC_DAG_PB):
        raise InvalidCid(f"codec 0x{codec:x} is neither raw (0x55) nor dag-pb (0x70)")
    return _cid_string(_cid_bytes(codec, digest))


# --- the DAG of `ipfs add --cid-version=1 --raw-leaves` ----------------------------


def _pb_varint(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _pb_bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


class _Link(NamedTuple):
    cid: bytes  # binary CID
    tsize: int  # cumulative size of the serialised blocks of the subtree
    filesize: int  # file bytes in the subtree


def _parent_block(links: list[_Link]) -> bytes:
    """A dag-pb node over `links`: PBLinks (Hash, empty Name, Tsize) first, then the
    UnixFS Data (Type=File, filesize, one blocksize per child; proto2, not packed)."""
    unixfs = _pb_varint(1, _UNIXFS_FILE) + _pb_varint(3, sum(link.filesize for link in links))
    unixfs += b"".join(_pb_varint(4, link.filesize) for link in links)
    body = b"".join(_pb_bytes(2, _pb_bytes(1, link.cid) + _pb_bytes(2, b"") + _pb_varint(3, link.tsize)) for link in links)
    return body + _pb_bytes(1, unixfs)


class CidBuilder:
    """Computes a CID from data fed in pieces, holding at most one chunk and the
    pending links in memory.

    `on_block(cid, block)` (optional) receives every block of the DAG, leaves first and
    the root last, so a caller can store them or compare them with a node's blocks.
    """

    def __init__(
        self,
        on_block: Callable[[str, bytes], None] | None = None,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_links: int = MAX_LINKS,
    ):
        # chunk_size and max_links exist for tests of the layout; other values give
        # CIDs that no IPFS node computes with its defaults.
        if chunk_size < 1 or max_links < 2:
            raise ValueError("chunk_size must be >= 1 and max_links >= 2")
        self._chunk = chunk_size
        self._max_links = max_links
        self._on_block = on_block
        self._buf = bytearray()
        self._levels: list[list[_Link]] = [[]]
        self._leaves = 0
        self._size = 0
        self._cid: str | None = None

    @property
    def size(self) -> int:
        """Bytes fed so far."""
        return self._size

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if self._cid is not None:
            raise RuntimeError("CidBuilder.update after finish")
        view = memoryview(data).cast("B")
        self._size += len(view)
        pos = 0
        if self._buf:
            take = min(self._chunk - len(self._buf), len(view))
            self._buf += view[:take]
            pos = take
            if len(self._buf) == self._chunk:
                self._leaf(bytes(self._buf))
                self._buf.clear()
        while len(view) - pos >= self._chunk:
            piece = view[pos : pos + self._chunk]
            # hashed in place; copied only for a caller that keeps the blocks
            self._leaf(piece if self._on_block is None else bytes(piece))
            pos += self._chunk
        self._buf += view[pos:]

    def finish(self) -> str:
        """The CID of everything fed; the builder accepts no more data afterwards."""
        if self._cid is not None:
            return self._cid
        if self._buf or self._leaves == 0:  # an empty file is one empty raw block
            self._leaf(bytes(self._buf))
            self._buf.clear()
        if self._leaves == 1:
            root = self._levels[0][0].cid
        else:
            depth, capacity = 1, self._max_links
            while capacity < self._leaves:
                depth, capacity = depth + 1, capacity * self._max_links
            # Close the last partial node of each level, bottom up: every leaf ends at
            # the same depth, as in js-ipfs' balanced reducer and kubo's balanced layout.
            for level in range(depth):
                if level < len(self._levels) and self._levels[level]:
                    self._reduce(level)
            assert len(self._levels) == depth + 1 and len(self._levels[depth]) == 1
            assert not any(self._levels[:depth])
            root = self._levels[depth][0].cid
        self._cid = _cid_string(root)
        return self._cid

    def _emit(self, cid: bytes, block: bytes) -> None:
        if self._on_block is not None:
            self._on_block(_cid_string(cid), block)

    def _leaf(self, chunk: bytes | memoryview) -> None:
        cid = _cid_bytes(CODEC_RAW, hashlib.sha256(chunk).digest())
        self._emit(cid, chunk)
        self._leaves += 1
        self._push(0, _Link(cid, len(chunk), len(chunk)))

    def _push(self, level: int, link: _Link) -> None:
        if level == len(self._levels):
            self._levels.append([])
        self._levels[level].append(link)
        if len(self._levels[level]) == self._max_links:
            self._reduce(level)

    def _reduce(self, level: int) -> None:
        links, self._levels[level] = self._levels[level], []
        block = _parent_block(links)
        cid = _cid_bytes(CODEC_DAG_PB, hashlib.sha256(block).digest())
        self._emit(cid, block)
        self._push(level + 1, _Link(cid, len(block) + sum(link.tsize for link in links), sum(link.filesize for link in links)))


def compute_cid(data: bytes) -> str:
    """The CID `ipfs add --cid-version=1 --raw-leaves` gives `data`, computed locally."""
    builder = CidBuilder()
    builder.update(data)
    return builder.finish()


def compute_file_cid(path: str | os.PathLike[str]) -> str:
    """The CID of a file's contents, read in 1 MiB pieces (never whole into memory)."""
    builder = CidBuilder()
    try:
        with open(path, "rb") as f:
            while piece := f.read(_READ_SIZE):
                builder.update(piece)
    except IsADirectoryError:
        raise StoreError(f"{os.fspath(path)} is a directory, not a file") from None
    except OSError as exc:
        raise StoreError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
    return builder.finish()


def _check_limit(max_size: int) -> None:
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
        raise ValueError(f"max_size must be a non-negative int, not {max_size!r}")


def _before(deadline: float | None, cid: str) -> float | None:
    """Seconds left until `deadline` (None: no deadline); DeadlinePassed once it passed."""
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlinePassed(f"{cid}: the fetch's deadline passed before all of it arrived")
    return left


def _verified(cid: str, data: bytes, where: str) -> bytes:
    actual = compute_cid(data)
    if actual != cid:
        raise HashMismatch(f"{where} returned {len(data)} bytes for {cid} that hash to {actual}: corrupt or tampered content")
    return data


# --- the interface --------------------------------------------------------------


class Store(ABC):
    """Content-addressed storage. Every method raises a `StoreError` subclass on failure.

    `progress`, if set, is called as `progress(bytes_sent, total)` while an artefact of
    `PROGRESS_MIN_BYTES` or more uploads to an IPFS node (the CLI draws it as a bar)."""

    progress: Callable[[int, int], None] | None = None

    @abstractmethod
    def add(self, data: bytes, *, pin: bool = True) -> str:
        """Store `data` (pinned unless pin=False) and return its CID (base32 CIDv1)."""

    @abstractmethod
    def cat(self, cid: str, max_size: int, *, deadline: float | None = None) -> bytes:
        """The content of `cid`, checked against it. ContentTooLarge past `max_size`
        bytes (nothing more is read), CidNotFound when it is not there, HashMismatch
        when the bytes do not hash to the CID, DeadlinePassed when the whole content has
        not arrived by `deadline` (a `time.monotonic()` instant; None: the store's own
        per-call timeout only). The last three are `Unavailable`: they say nothing about
        the content."""

    @abstractmethod
    def pin(self, cid: str) -> None:
        """Keep `cid` (it must be present or fetchable). Pinning twice is harmless."""

    @abstractmethod
    def unpin(self, cid: str) -> None:
        """Let `cid` go (garbage collection may then remove it). Unpinning what is not
        pinned is harmless, so that a restarted caller can repeat it."""

    @abstractmethod
    def is_pinned(self, cid: str) -> bool:
        """Whether `cid` is pinned here."""

    def close(self) -> None:
        """Release resources (nothing by default)."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- embedded store -------------------------------------------------------------


#: What a missing CID in the embedded store most often means on one machine.
SHARED_STORE_HINT = (": every party on this machine must use the same FATHOM_STORE_DIR "
                     "(or one IPFS node, FATHOM_IPFS_API)")


class EmbeddedStore(Store):
    """Content-addressed files under `root`, for machines without an IPFS node.

    ``objects/<last 2 chars>/<cid>`` holds the content of each CID whole;
    ``pins/<cid>`` marks it pinned. Every file is written to a temporary name in the
    same directory, fsynced, then renamed, so a crash leaves the old state or the new
    one, never a torn file. `cat` re-hashes what it reads, so a tampered or rotten
    file is reported, not returned.
    """

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._pins = self.root / "pins"

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.root)!r})"

    def _object_path(self, cid: str) -> Path:
        return self._objects / cid[-2:] / cid

    def path_of(self, cid: str) -> Path:
        """Where the content of `cid` lives (it may not exist)."""
        _parse_cid(cid)
        return self._object_path(cid)

    def has(self, cid: str) -> bool:
        """Whether the content of `cid` is here (pinned or not)."""
        return self.path_of(cid).is_file()

    def add(self, data: bytes, *, pin: bool = True) -> str:
        data = bytes(data)
        cid = compute_cid(data)
        path = self._object_path(cid)
        try:
            if not _holds(path, data):  # absent, or damaged: (re)write it
                _atomic_write(path, data)
            if pin:
                _atomic_write(self._pins / cid, b"")
        except OSError as exc:
            raise StoreError(f"cannot write to the embedded store at {self.root}: {exc.strerror or exc}") from None
        return cid

    def cat(self, cid: str, max_size: int, *, deadline: float | None = None) -> bytes:
        _check_limit(max_size)
        path = self.path_of(cid)  # a local read: no provider can hold it, so no deadline to watch
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > max_size:
                    raise ContentTooLarge(f"{cid} is {size} bytes, more than the limit of {max_size}")
                data = f.read(max_size + 1)
        except FileNotFoundError:
            raise CidNotFound(f"{cid} is not in the embedded store at {self.root}{SHARED_STORE_HINT}") from None
        except OSError as exc:
            raise StoreError(f"cannot read {cid} from the embedded store at {self.root}: {exc.strerror or exc}") from None
        if len(data) > max_size:  # grew between fstat and read
            raise ContentTooLarge(f"{cid} is more than the limit of {max_size} bytes")
        return _verified(cid, data, f"the embedded store at {self.root}")

    def pin(self, cid: str) -> None:
        if not self.has(cid):
            raise CidNotFound(f"cannot pin {cid}: it is not in the embedded store at {self.root}{SHARED_STORE_HINT}")
        try:
            if not (self._pins / cid).exists():
                _atomic_write(self._pins / cid, b"")
        except OSError as exc:
            raise StoreError(f"cannot pin {cid} in {self.root}: {exc.strerror or exc}") from None

    def unpin(self, cid: str) -> None:
        _parse_cid(cid)
        try:
            (self._pins / cid).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot unpin {cid} in {self.root}: {exc.strerror or exc}") from None

    def is_pinned(self, cid: str) -> bool:
        _parse_cid(cid)
        return (self._pins / cid).is_file()

    def gc(self, grace: float = 60.0) -> list[str]:
        """Delete unpinned content (and temporary files left by a crash) older than
        `grace` seconds; returns the CIDs removed. The grace period spares content that
        another process has just added and is about to pin."""
        removed: list[str] = []
        if not self._objects.is_dir():
            return removed
        cutoff = time.time() - grace
        for shard in self._objects.iterdir():
            if not shard.is_dir():
                continue
            for path in shard.iterdir():
                try:
                    if path.stat().st_mtime > cutoff:
                        continue
                    if path.name.startswith(".tmp-"):
                        path.unlink(missing_ok=True)
                    elif not (self._pins / path.name).exists():
                        path.unlink(missing_ok=True)
                        removed.append(path.name)
                except FileNotFoundError:
                    continue
        return removed


def _holds(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


def _atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory, fsync,
    rename; then fsync the directory so the rename itself survives a crash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# --- IPFS -----------------------------------------------------------------------


_URL_RE = re.compile(r"^(https?)://([^/:]+|\[[0-9a-fA-F:]+\])(?::(\d+))?/?$")


def _multiaddr(api: str) -> str:
    """FATHOM_IPFS_API as a multiaddr: /ip4/127.0.0.1/tcp/5001 as is, or an http(s) URL."""
    api = api.strip()
    match = _URL_RE.match(api)
    if not match:
        return api
    scheme, host, port = match.groups()
    port = port or ("443" if scheme == "https" else "80")
    if host.startswith("["):
        proto, host = "ip6", host[1:-1]
    elif re.fullmatch(r"\d+\.\d+\.\d+\.\d+", host):
        proto = "ip4"
    else:
        proto = "dns"
    return f"/{proto}/{host}/tcp/{port}/{scheme}"


class IpfsStore(Store):
    """A real IPFS node through its HTTP API (js-ipfs or kubo).

    Every call has a deadline: `timeout` seconds for the node (it is passed to the node
    as the request's own timeout where the node must find content, so that a CID no one
    has gives CidNotFound rather than a hang) plus a few seconds of grace for the
    connection. `add` checks that the node computed the same CID as `compute_cid`.
    """

    #: Seconds the HTTP client waits beyond the node's own timeout (at most `timeout`).
    GRACE = 5.0

    def __init__(self, api: str, timeout: float = 30.0):
        import ipfshttpclient  # imported here: the embedded store does not need it

        # ipfshttpclient 0.7 (its last release) passes urllib3 2 a `strict` argument that
        # urllib3 ignores and warns about on every request: noise, not news, for a user
        warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed",
                                category=FutureWarning, module="urllib3")
        if timeout <= 0:
            raise ConfigError(f"the IPFS timeout must be positive, not {timeout!r}")
        self.api = api
        self.timeout = float(timeout)
        self._exc = ipfshttpclient.exceptions
        self._client_timeout = self.timeout + min(self.GRACE, self.timeout)
        try:
            # Not ipfshttpclient.connect(): it refuses daemons newer than it knows.
            self._client = ipfshttpclient.Client(_multiaddr(api), timeout=self._client_timeout)
        except ipfshttpclient.exceptions.AddressError:
            raise ConfigError(f"FATHOM_IPFS_API {api!r} is not a multiaddr such as /ip4/127.0.0.1/tcp/5001") from None

    def __repr__(self) -> str:
        return f"IpfsStore({self.api!r}, timeout={self.timeout})"

    @property
    def _node_timeout(self) -> dict[str, str]:
        return {"timeout": f"{max(1, round(self.timeout * 1000))}ms"}

    def _call(self, what: str, fn: Callable[[], object], cid: str | None = None):
        exc = self._exc
        try:
            return fn()
        except exc.ConnectionError:
            raise StoreUnavailable(
                f"cannot reach the IPFS API at {self.api} ({what}): is the daemon running, and is FATHOM_IPFS_API right?"
            ) from None
        except exc.TimeoutError:
            raise StoreTimeout(f"the IPFS API at {self.api} did not answer within {self._client_timeout:g}s ({what})") from None
        except exc.ErrorResponse as err:
            message = str(err)
            if cid is not None and ("timed out" in message or "deadline exceeded" in message):
                raise CidNotFound(f"{cid} not found: the IPFS node at {self.api} could not get it within {self.timeout:g}s") from None
            raise StoreError(f"IPFS {what} failed at {self.api}: {message}") from None
        except exc.Error as err:
            raise StoreError(f"IPFS {what} failed at {self.api}: {err}") from None

    def version(self) -> str:
        """The node's version string (a cheap check that the API answers)."""
        info = self._call("version", lambda: self._client.version())
        return str(info["Version"])

    def add(self, data: bytes, *, pin: bool = True) -> str:
        data = bytes(data)
        expected = compute_cid(data)
        body = io.BytesIO(data) if self.progress is None or len(data) < PROGRESS_MIN_BYTES else _Reporting(data, self.progress)
        result = self._call(
            "add",
            lambda: self._client.add(
                body,
                cid_version=1,
                raw_leaves=True,
                chunker=f"size-{CHUNK_SIZE}",
                pin=pin,
                opts={"cid-base": "base32", "hash": "sha2-256"},
            ),
        )
        cid = result["Hash"]
        if cid != expected:
            raise StoreError(
                f"the IPFS node at {self.api} stored {len(data)} bytes as {cid}, but Fathom computes {expected}: "
                "its add settings differ from --cid-version=1 --raw-leaves with the balanced layout"
            )
        return cid

    def cat(self, cid: str, max_size: int, *, deadline: float | None = None) -> bytes:
        _check_limit(max_size)
        _parse_cid(cid)
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        # Stat first: it finds the root within the node's timeout (CidNotFound if it
        # cannot) and gives the file size, so oversized content is refused unread.
        left = _before(deadline, cid)
        stat = self._by(deadline, cid, "stat", lambda: self._client.files.stat(f"/ipfs/{cid}", opts=self._timeout_opt(left)))
        if stat.get("Type") != "file":
            raise StoreError(f"{cid} is a {stat.get('Type')}, not a file")
        size = int(stat.get("Size", 0))
        if size > max_size:
            raise ContentTooLarge(f"{cid} is {size} bytes, more than the limit of {max_size}")

        def read() -> bytes:
            # `length` caps what the node sends, whatever the root claims; the node's own
            # timeout bounds the whole request, and the deadline is checked at every chunk
            # (so a provider that drips blocks holds the fetch one socket read at most).
            left = _before(deadline, cid)
            chunks = self._client.cat(cid, stream=True, timeout=min(left, self._client_timeout),
                                      opts={"length": max_size + 1, **self._timeout_opt(left)})
            out = bytearray()
            try:
                for chunk in chunks:
                    out += chunk
                    if len(out) > max_size:
                        raise ContentTooLarge(f"{cid} is more than the limit of {max_size} bytes")
                    _before(deadline, cid)
            finally:
                chunks.close()
            return bytes(out)

        data = self._by(deadline, cid, "cat", read)
        return _verified(cid, data, f"the IPFS node at {self.api}")

    def _by(self, deadline: float, cid: str, what: str, fn: Callable[[], object]):
        """`_call`, where a client timeout at the caller's deadline is the deadline's
        (Unavailable), not a node that stopped answering (Transient)."""
        try:
            return self._call(what, fn, cid)
        except StoreTimeout:
            if time.monotonic() >= deadline:
                raise DeadlinePassed(f"{cid}: the fetch's deadline passed before all of it arrived ({what})") from None
            raise

    def _timeout_opt(self, left: float | None) -> dict[str, str]:
        """The node's own timeout for one request: the store's, or less if the deadline is nearer."""
        seconds = self.timeout if left is None else min(self.timeout, left)
        return {"timeout": f"{max(1, round(seconds * 1000))}ms"}

    def pin(self, cid: str) -> None:
        _parse_cid(cid)
        self._call("pin", lambda: self._client.pin.add(cid, opts=self._node_timeout), cid)

    def unpin(self, cid: str) -> None:
        _parse_cid(cid)
        try:
            self._call("unpin", lambda: self._client.pin.rm(cid))
        except StoreError as err:
            if type(err) is not StoreError or "not pinned" not in str(err):
                raise

    def is_pinned(self, cid: str) -> bool:
        _parse_cid(cid)
        try:
            self._call("pin ls", lambda: self._client.pin.ls(cid, type="recursive"))
        except StoreError as err:
            if type(err) is StoreError and "not pinned" in str(err):
                return False
            raise
        return True


# --- choosing a back-end ----------------------------------------------------------


#: Uploads at least this large report their progress (`Store.progress`).
PROGRESS_MIN_BYTES = 1 << 20


class _Reporting(io.BytesIO):
    """The upload's body: reports how much of it the HTTP client has read."""

    def __init__(self, data: bytes, progress: Callable[[int, int], None]):
        super().__init__(data)
        self._total = len(data)
        self._progress = progress

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self._progress(self.tell(), self._total)
        return chunk


def open_store(settings: "Settings") -> Store:
    """IpfsStore when FATHOM_IPFS_API is set, else the EmbeddedStore in
    `<data_dir>/store`."""
    if settings.ipfs_api:
        return IpfsStore(settings.ipfs_api, timeout=settings.ipfs_timeout)
    return EmbeddedStore(Path(settings.store_dir or Path(settings.data_dir) / "store"))

