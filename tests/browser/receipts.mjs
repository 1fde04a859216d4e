// The dApp's wait for a claim's receipt (frontend/src/wallet.js, minedReceipt) against a mocked
// EIP-1193 node: no chain, no browser, each case in well under a second. run.mjs runs these first;
// alone: `node tests/browser/receipts.mjs` (after `node frontend/build.mjs`).
//
// Each case is a behaviour a wallet user meets on a real network: a speed-up, a cancellation, a
// replacement by another call, a receipt the node indexes late, a rate-limited request, a block
// first read from a stale fork, a node that writes hex in capitals, a wallet switched to another
// chain, a transaction never mined.

import { pathToFileURL } from "node:url";
import { ethers } from "../../frontend/vendor/ethers.min.js";
import { minedReceipt } from "../../frontend/src/wallet.js";

const CHAIN = 31337;
const q = (v) => ethers.toQuantity(v);
const key = new ethers.Wallet("0x" + "5a".repeat(32));
const MARKET = ethers.getAddress("0x" + "22".repeat(20));
const CLAIM = "0xabcdef01";

async function signed(over = {}) {
  return ethers.Transaction.from(await key.signTransaction({ to: MARKET, data: CLAIM, value: 0n, nonce: 7, gasLimit: 100_000n,
    chainId: CHAIN, type: 2, maxFeePerGas: 10n, maxPriorityFeePerGas: 1n, ...over }));
}

/** Signed transaction `t` as a node shows it (eth_getTransactionByHash): pending, or at height `n`. */
export function txJson(t, n = null, index = null) {
  return { hash: t.hash, from: t.from, to: t.to, nonce: q(t.nonce), gas: q(t.gasLimit), input: t.data, value: q(t.value),
    chainId: q(t.chainId), type: q(t.type), maxFeePerGas: q(t.maxFeePerGas), maxPriorityFeePerGas: q(t.maxPriorityFeePerGas),
    gasPrice: q(t.maxFeePerGas), accessList: [], r: t.signature.r, s: t.signature.s, yParity: q(t.signature.yParity),
    v: q(t.signature.yParity), blockHash: n === null ? null : blockHash(n), blockNumber: n === null ? null : q(n),
    transactionIndex: index === null ? null : q(index) };
}
const blockHash = (n, fork = 0) => "0x" + (fork * 1_000_000 + n).toString(16).padStart(64, "0");

/**
 * A node whose chain is `blocks` (height -> signed transactions) up to `head`, with `nonce` the
 * sender's latest count. `answer(method, params, calls)` may answer first (undefined: the node's
 * own answer); `calls` counts the requests per method so far. With `capitals`, the calldata in
 * its blocks is written in capital hex (an odd node).
 */
function node({ head, blocks = {}, nonce = 8, answer = () => undefined, capitals = false }) {
  const calls = {};
  const located = (hash) => {
    for (const [n, txs] of Object.entries(blocks)) {
      const i = txs.findIndex((t) => t.hash === hash);
      if (i >= 0) return [Number(n), i, txs[i]];
    }
    return null;
  };
  return {
    calls,
    async request({ method, params }) {
      calls[method] = (calls[method] ?? 0) + 1;
      const given = await answer(method, params, calls);
      if (given !== undefined) return given;
      switch (method) {
        case "eth_chainId": return q(CHAIN);
        case "eth_blockNumber": return q(head);
        case "eth_getTransactionCount": return q(nonce);
        case "eth_getTransactionByHash": {
          const at = located(params[0]);
          return at ? txJson(at[2], at[0], at[1]) : null;
        }
        case "eth_getTransactionReceipt": {
          const at = located(params[0]);
          if (!at) return null;
          const [n, i, t] = at;
          return { transactionHash: t.hash, blockHash: blockHash(n), blockNumber: q(n), transactionIndex: q(i), from: t.from, to: t.to,
            cumulativeGasUsed: "0x5208", gasUsed: "0x5208", effectiveGasPrice: "0x1", logs: [], logsBloom: "0x" + "00".repeat(256),
            status: "0x1", type: "0x2", contractAddress: null };
        }
        case "eth_getBlockByNumber": {
          const n = Number(params[0]);
          if (n > head) return null;
          return { number: q(n), hash: blockHash(n), parentHash: blockHash(Math.max(n - 1, 0)), timestamp: q(1_000 + n),
            nonce: "0x0000000000000000", difficulty: "0x0", gasLimit: "0x1c9c380", gasUsed: "0x0", miner: MARKET, extraData: "0x",
            baseFeePerGas: "0x1", transactions: (blocks[n] ?? []).map((t, i) => {
              if (!params[1]) return t.hash;
              const j = txJson(t, n, i);
              return capitals ? { ...j, input: "0x" + j.input.slice(2).toUpperCase() } : j;
            }) };
        }
        default: throw new Error(`the mock node has no ${method}`);
      }
    },
  };
}

/**
 * minedReceipt for the claim `sent` (signed, shown as pending) on `eth`: {hash} or {error}. The
 * limit is generous: ethers keeps each answer 250 ms, so n answers of a kind take n / 4 s.
 */
async function wait(eth, sent, { limit = 30_000 } = {}) {
  const provider = new ethers.BrowserProvider(eth, CHAIN);
  const tx = await new ethers.BrowserProvider(node({ head: 0, answer: (m) => (m === "eth_getTransactionByHash" ? txJson(sent) : undefined) }), CHAIN)
    .getTransaction(sent.hash);
  try {
    const r = await minedReceipt(provider, tx, "the claim", { fromBlock: 10, interval: 5, limit });
    return { hash: r.hash };
  } catch (e) {
    return { error: e.message };
  } finally {
    provider.destroy();
  }
}

export async function receiptChecks(check) {
  const claim = await signed();
  const sped = await signed({ maxFeePerGas: 20n, maxPriorityFeePerGas: 2n });
  const pending = (m, p) => (m === "eth_getTransactionByHash" && p[0] === claim.hash ? txJson(claim) : undefined);
  let r;

  r = await wait(node({ head: 12, blocks: { 12: [sped] }, answer: pending }), claim);
  check("receipts: a claim sped up in the wallet is followed to the transaction mined", r.hash === sped.hash, JSON.stringify(r));

  r = await wait(node({ head: 12, blocks: { 12: [await signed({ to: key.address, data: "0x", maxFeePerGas: 30n })] }, answer: pending }), claim);
  check("receipts: a claim cancelled in the wallet is a plain error that says so",
    /was cancelled in your wallet by 0x/.test(r.error ?? ""), JSON.stringify(r));

  r = await wait(node({ head: 12, blocks: { 12: [await signed({ data: "0x12345678", maxFeePerGas: 30n })] }, answer: pending }), claim);
  check("receipts: a claim replaced by another call is a plain error, never that call's receipt",
    /was replaced in your wallet by 0x/.test(r.error ?? ""), JSON.stringify(r));

  // mined in block 11, its receipt indexed only at the 6th ask (a look for a replacement between);
  // the sender's nonce spent meanwhile
  r = await wait(node({ head: 12, blocks: { 11: [claim] },
    answer: (m, p, calls) => (m === "eth_getTransactionReceipt" && calls[m] < 6 ? null : undefined) }), claim);
  check("receipts: a receipt the node indexes late is waited for (no replacement seen in its own transaction)",
    r.hash === claim.hash, JSON.stringify(r));

  // a rate limit on the first two asks of every kind (ethers keeps a failed answer for 250 ms)
  r = await wait(node({ head: 12, blocks: { 12: [sped] }, answer: (m, p, calls) => {
    if (m !== "eth_chainId" && calls[m] <= 2) throw Object.assign(new Error("rate limited"), { code: -32005 });
    return pending(m, p);
  } }), claim);
  check("receipts: a failed request (a rate limit) is asked again, not reported as a failed claim", r.hash === sped.hash, JSON.stringify(r));

  // block 12 first read from a node on a stale fork, without the speed-up
  let stale = true;
  r = await wait(node({ head: 12, blocks: { 12: [sped] }, answer: (m, p) => {
    if (m === "eth_getBlockByNumber" && Number(p[0]) === 12 && stale) {
      stale = false;
      return { number: q(12), hash: blockHash(12, 1), parentHash: blockHash(11), timestamp: q(1_012), nonce: "0x0000000000000000",
        difficulty: "0x0", gasLimit: "0x1c9c380", gasUsed: "0x0", miner: MARKET, extraData: "0x", baseFeePerGas: "0x1", transactions: [] };
    }
    return pending(m, p);
  } }), claim);
  check("receipts: a block first read from a stale fork is read again", r.hash === sped.hash, JSON.stringify(r));

  r = await wait(node({ head: 12, blocks: { 12: [sped] }, answer: pending, capitals: true }), claim);
  check("receipts: a node writing hex in capitals still shows a speed-up as one", r.hash === sped.hash, JSON.stringify(r));

  let switched = false;
  r = await wait(node({ head: 12, answer: (m, p, calls) => {
    if (m === "eth_getTransactionReceipt" && calls[m] >= 3) switched = true;
    return m === "eth_chainId" && switched ? q(1) : pending(m, p);
  } }), claim);
  check("receipts: a wallet switched to another chain ends the wait with a plain error",
    /switched networks while the claim 0x[0-9a-f]{64} was pending/.test(r.error ?? ""), JSON.stringify(r));

  r = await wait(node({ head: 12, nonce: 7, answer: pending }), claim, { limit: 200 });
  check("receipts: a claim never mined ends with a plain error after the limit",
    /was not mined within 0 minutes: see your wallet/.test(r.error ?? ""), JSON.stringify(r));
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  let failed = 0;
  await receiptChecks((name, ok, detail = "") => {
    if (!ok) failed++;
    console.log(`  ${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${detail}`}`);
  });
  process.exit(failed ? 1 : 0);
}
