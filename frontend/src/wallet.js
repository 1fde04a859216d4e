// The user's wallet through EIP-1193 (window.ethereum): connect, read what it can claim, claim.

import { ethers } from "../vendor/ethers.min.js";
import { ZERO_ADDRESS } from "./format.js";
import { shortError } from "./market.js";

export class Wallet {
  constructor(ethereum) {
    this.ethereum = ethereum;
    this.account = null;
    this.chainId = null;
  }

  static detect() {
    return typeof window !== "undefined" && window.ethereum && typeof window.ethereum.request === "function"
      ? new Wallet(window.ethereum)
      : null;
  }

  /** Asks the wallet for its accounts (eth_requestAccounts) and its chain. */
  async connect() {
    const accounts = await this.ethereum.request({ method: "eth_requestAccounts", params: [] });
    if (!accounts || accounts.length === 0) throw new Error("the wallet gave no account");
    this.account = ethers.getAddress(accounts[0]);
    this.chainId = Number(BigInt(await this.ethereum.request({ method: "eth_chainId", params: [] })));
    return this.account;
  }

  on(event, handler) {
    if (typeof this.ethereum.on === "function") this.ethereum.on(event, handler);
  }

  /**
   * Sends claim(token) from the connected account through the wallet and waits for it to be
   * mined. Returns {amount, hash, block}; the amount comes from the Claimed event.
   */
  async claim(market, token = ZERO_ADDRESS, onSent = () => {}) {
    return this.#send(market, (c) => c.claim(token), "Claimed", "the claim transaction", onSent);
  }

  /**
   * Sends claimPayout for one-off payout `p` (rule P3: its token, bounty, position, amount and
   * proof, as Market.payouts builds them) and waits for it to be mined. Returns {amount, hash,
   * block}; the amount comes from the PayoutClaimed event.
   */
  async claimPayout(market, p, onSent = () => {}) {
    return this.#send(market, (c) => c.claimPayout(p.token, p.bountyId, p.position, p.amount, p.proof), "PayoutClaimed",
      "the payout claim", onSent);
  }

  /** Sends `call(market contract signed by the account)`, waits for it, and sums `event`'s amounts. */
  async #send(market, call, event, what, onSent) {
    const provider = new ethers.BrowserProvider(this.ethereum, this.chainId);
    const signer = await provider.getSigner(this.account);
    const fromBlock = await provider.getBlockNumber();
    const tx = await call(market.contract.connect(signer));
    onSent(tx.hash);
    const receipt = await minedReceipt(provider, tx, what, { fromBlock });
    if (receipt.status !== 1) throw new Error(`${what} ${receipt.hash} failed`);
    let amount = 0n;
    for (const log of receipt.logs) {
      try {
        const ev = market.iface.parseLog(log);
        if (ev?.name === event) amount += ev.args.amount;
      } catch {
        /* another contract's log */
      }
    }
    return { amount, hash: receipt.hash, block: receipt.blockNumber };
  }
}

/** How often the page asks for a sent transaction's receipt, and for how long. */
export const RECEIPT_POLL_MS = 500;
export const RECEIPT_WAIT_MS = 15 * 60_000;
/** Rounds between two looks for a replacement (the sender's nonce), and blocks read per look. */
const NONCE_EVERY = 4;
const BLOCKS_PER_LOOK = 20;
/** Blocks read again at each look: a block read from a node on a stale fork is read once more. */
const REREAD = 3;

/**
 * The receipt that decides sent transaction `tx` (an ethers TransactionResponse), asked for
 * every RECEIPT_POLL_MS. Not ethers' tx.wait(): that asks once, then again only when a new
 * block appears, so on a chain that mines one block per transaction and then sits idle (anvil,
 * ganache, `fathom devnet`) a receipt the node had not indexed at the first ask is never asked
 * for again and the page waits forever.
 *
 * Every NONCE_EVERY rounds, when the sender's nonce is spent and `tx` is not in a block, the
 * wallet replaced it: the blocks from `fromBlock` (the head before sending; the last REREAD
 * again at each look, BLOCKS_PER_LOOK at most) are read for the transaction that spent it. A
 * speed-up (the same call at a higher fee) is followed to its receipt; a cancellation or any
 * other replacement is a plain error. A failed request (a rate limit, a blip) is asked again
 * next round; a wallet that switched chains ends the wait with a plain error. Gives up after
 * RECEIPT_WAIT_MS (the transaction may still be mined later: the wallet shows it).
 */
export async function minedReceipt(provider, tx, what = "the transaction",
  { fromBlock, interval = RECEIPT_POLL_MS, limit = RECEIPT_WAIT_MS } = {}) {
  const deadline = Date.now() + limit;
  const same = (a, b) => (a ?? "").toLowerCase() === (b ?? "").toLowerCase();
  let scan = fromBlock; // the first block not yet read for a replacement
  for (let round = 0; ; round++) {
    try {
      const receipt = await provider.getTransactionReceipt(tx.hash);
      if (receipt) return receipt;
      if (round % NONCE_EVERY === NONCE_EVERY - 1 && (await provider.getTransactionCount(tx.from, "latest")) > tx.nonce
          && (await provider.getTransaction(tx.hash))?.blockNumber == null) {
        const head = await provider.getBlockNumber();
        scan = Math.max(fromBlock, Math.min(scan, head - REREAD + 1));
        for (const end = Math.min(head, scan + BLOCKS_PER_LOOK - 1); scan <= end; scan++) {
          const block = await provider.getBlock(scan, true);
          if (!block) break; // this node is behind: the same height next look
          const other = block.prefetchedTransactions.find((t) => same(t.from, tx.from) && t.nonce === tx.nonce);
          if (!other) continue;
          if (same(other.hash, tx.hash)) break; // mined, its receipt not indexed yet: ask again
          const replaced = await provider.getTransactionReceipt(other.hash);
          if (!replaced) break; // the same, for the replacement
          if (same(other.to, tx.to) && same(other.data, tx.data) && other.value === tx.value) return replaced; // sped up
          const cancelled = same(other.to, tx.from) && other.data === "0x" && other.value === 0n;
          throw Object.assign(new Error(`${what} ${tx.hash} was ${cancelled ? "cancelled" : "replaced"} in your wallet by ${other.hash}`),
            { replaced: true });
        }
      }
    } catch (e) {
      if (e?.replaced) throw e;
      if (e?.code === "NETWORK_ERROR") {
        throw new Error(`the wallet switched networks while ${what} ${tx.hash} was pending: see your wallet for its state`);
      }
      /* a failed request: ask again next round */
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what} ${tx.hash} was not mined within ${Math.round(limit / 60_000)} minutes: see your wallet for its state`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** A wallet or contract error in plain words (user rejection, the contract's custom error, ...). */
export function walletError(e, market) {
  if (e?.code === 4001 || e?.code === "ACTION_REJECTED" || e?.info?.error?.code === 4001) return "You rejected the request in your wallet.";
  const data = e?.data ?? e?.info?.error?.data ?? e?.error?.data;
  if (typeof data === "string" && data.length >= 10 && market) {
    try {
      const err = market.iface.parseError(data);
      if (err) return `The market refused: ${err.name}${err.args.length ? "(" + err.args.join(", ") + ")" : ""}.`;
    } catch {
      /* unknown error data */
    }
  }
  if (e?.revert?.name) return `The market refused: ${e.revert.name}.`;
  return shortError(e);
}
