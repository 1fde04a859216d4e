// A bounty's privacy, as the page can read it (SPECIFICATION F3, F11, F13): the mode and
// the largest epsilon from the brief of the keyring the bounty was opened with, and each
// version's privacy statement from its update, fetched through an IPFS gateway (?ipfs=URL).
//
// - A sealed keyring (an envelope, magic "FTHM") is the default mode: models under a model
//   key; its brief, and so its largest epsilon, is for key holders only.
// - A plain keyring is the brief itself (JSON): "encryption" names the encrypted-weights
//   mode (Paillier; the key size is the modulus' bit length), "max_epsilon" the largest
//   epsilon an update may state.
// - An update is sealed for the committee only (F2). Its statement is read only with the
//   content key a committee member disclosed after settlement (?keys=URL of the JSON
//   {cid: hex key} that `BountyReader.disclose` gives): the key must match the envelope's
//   key commitment, and AES-256-GCM authenticates everything, as `open_envelope` does.
//   Without it the page says "sealed"; it never guesses.

const ENVELOPE_MAGIC = [0x46, 0x54, 0x48, 0x4d]; // "FTHM"
const CONTAINER_MAGIC = [0x46, 0x54, 0x48, 0x41]; // "FTHA"
const enc = new TextEncoder();

/** The base32 CIDv1 string of an on-chain Cid{digest, codec} (sha2-256; raw 0x55 or dag-pb 0x70). */
export function cidString(digestHex, codec) {
  const digest = hexBytes(digestHex);
  const bytes = Uint8Array.from([1, Number(codec), 0x12, 0x20, ...digest]);
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "b", bits = 0, value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function hexBytes(hex) {
  const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

const startsWith = (bytes, magic) => magic.every((b, i) => bytes[i] === b);

async function fetchBytes(gateway, cid) {
  const res = await fetch(new URL(cid, gateway), { cache: "force-cache" });
  if (!res.ok) throw new Error(`the gateway answered HTTP ${res.status} for ${cid}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** {mode, maxEpsilon, bits, note} of the opening keyring's bytes (mode: encrypted-weights | sealed | clear). */
export function modeOf(keyring) {
  if (startsWith(keyring, ENVELOPE_MAGIC)) return { mode: "sealed", maxEpsilon: "sealed", bits: null };
  const brief = JSON.parse(new TextDecoder().decode(keyring));
  const epsilon = brief.max_epsilon ?? null;
  if (brief.encryption) {
    const n = BigInt(`0x${brief.encryption.public_key.n}`);
    return { mode: "encrypted-weights", maxEpsilon: epsilon, bits: n.toString(2).length };
  }
  return { mode: "clear", maxEpsilon: epsilon, bits: null };
}

export function modeText({ mode, bits }) {
  return {
    "encrypted-weights": `encrypted weights (Paillier, ${bits} bits): contributors train on ciphertexts and cannot read or score the model; the committee holds the key, published at the reveal`,
    sealed: "sealed models (the model key opens them: the committee and admitted contributors)",
    clear: "models in the clear",
  }[mode];
}

export function epsilonText(eps) {
  if (eps === "sealed") return "not readable here (the brief is sealed)";
  return eps === null ? "not required" : `${eps} (an update stating more, or none, is invalid)`;
}

async function hkdf(key, info) {
  const base = await crypto.subtle.importKey("raw", key, "HKDF", false, ["deriveBits"]);
  // salt none = HashLen zero bytes; HMAC pads an empty key with zeros, so an empty salt is the same
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: enc.encode(info) }, base, 256);
  return new Uint8Array(bits);
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** The privacy statement of a sealed update opened with its disclosed content key: the
 * manifest's "privacy" object, or null when it states none. Throws when the key does not
 * match the envelope's key commitment or anything fails authentication. */
export async function updateStatement(blob, keyHex) {
  if (!startsWith(blob, ENVELOPE_MAGIC)) throw new Error("not an envelope");
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const headerLen = view.getUint32(6);
  const bodyLen = Number(view.getBigUint64(10));
  const headerEnd = 18 + headerLen;
  const header = JSON.parse(new TextDecoder().decode(blob.subarray(18, headerEnd)));
  const key = hexBytes(keyHex);
  if (toHex(await hkdf(key, "fathom/v1/key-commitment")) !== header.key_commitment) throw new Error("the disclosed key does not open this update");
  const aesKey = await crypto.subtle.importKey("raw", await hkdf(key, "fathom/v1/envelope-aes"), "AES-GCM", false, ["decrypt"]);
  const nonce = blob.subarray(headerEnd, headerEnd + 12);
  const plain = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce, additionalData: blob.subarray(0, headerEnd) },
    aesKey, blob.subarray(headerEnd + 12, headerEnd + 12 + bodyLen)));
  return containerManifest(plain).privacy ?? null;
}

/** The canonical-JSON manifest of a Fathom container (`fathom.ml.artefacts`, versions 1 to 4). */
function containerManifest(bytes) {
  if (!startsWith(bytes, CONTAINER_MAGIC)) throw new Error("not a Fathom container");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const manifestLen = view.getUint32(8);
  const count = view.getUint32(12);
  let at = 16;
  for (let i = 0; i < count; i++) at += 2 + view.getUint16(at) + 16; // name length, name, offset and length
  return JSON.parse(new TextDecoder().decode(bytes.subarray(at, at + manifestLen)));
}

/** What the page shows of a statement: "(ε, δ)-DP per unit: mechanism, accountant". */
export function statementText(s) {
  if (s === "sealed") return "sealed for the committee (a member's disclosed keys open it: ?keys=URL)";
  if (s === null) return "no differential privacy stated";
  if (typeof s === "string") return s;
  const accountant = s.accountant === "prv" ? "PRV accountant" : `${s.accountant} accountant`;
  return `(${Number(s.epsilon).toPrecision(4)}, ${Number(s.delta).toExponential()})-DP per ${s.unit}: ${s.mechanism}, ${accountant}`;
}

/** The bounty's privacy: {mode, maxEpsilon, bits, versions: {n: [{submission, statement}]}}, one
 * entry per merged update of version n (rule R5: a version may merge several; each states its
 * own privacy), a statement being an object, "sealed", null or an error text. */
export async function bountyPrivacy({ gateway, keys, keyring, versions }) {
  if (!gateway) return { unread: "no IPFS gateway configured (?ipfs=URL): the brief and the updates live there" };
  let mode;
  try {
    mode = modeOf(await fetchBytes(gateway, cidString(keyring.digest, keyring.codec)));
  } catch (e) {
    return { unread: `the brief could not be read (${e.message})` };
  }
  const statements = {};
  for (const v of versions) {
    if (v.version === 0 || !v.update) continue;
    const merged = v.merged?.length ? v.merged : [{ submission: v.submission, update: v.update }];
    statements[v.version] = [];
    for (const u of merged) {
      const key = keys?.[u.update];
      let statement = "sealed";
      if (key) {
        try {
          statement = await updateStatement(await fetchBytes(gateway, u.update), key);
        } catch (e) {
          statement = `unreadable (${e.message})`;
        }
      }
      statements[v.version].push({ submission: u.submission, statement });
    }
  }
  return { ...mode, versions: statements };
}
