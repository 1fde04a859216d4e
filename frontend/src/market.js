// Reading a Fathom BountyMarket with ethers v6 and the exported ABI (abi/, from interfaces/_abi).
// Everything shown comes from views (getBounty, state, getCurve, claimable, ...) and events.

import { ethers } from "../vendor/ethers.min.js";
import { ZERO_ADDRESS } from "./format.js";
import { cidString } from "./privacy.js";

/** Bit 95 of a SubmissionRecord's stake field: submitUpdateOnce (SPECIFICATION.md U6). */
export const ONE_OFF = 1n << 95n;

/** The 5 siblings from position `pos` of a group's 32 leaves up to the root, and the root's top 224 bits. */
export function payoutProof(leaves, pos) {
  let level = [...leaves];
  const proof = [];
  while (level.length > 1) {
    proof.push(level[pos ^ 1]);
    const next = [];
    for (let j = 0; j < level.length; j += 2) next.push(ethers.keccak256(ethers.concat([level[j], level[j + 1]])));
    level = next;
    pos >>= 1;
  }
  const top = ethers.toBeHex(BigInt(level[0]) & ~0xffffffffn, 32);
  return { proof, top };
}

export const STATES = ["None", "AwaitingBaseline", "Open", "Settling", "Closed", "Revealed"];
const LOG_STEP = 10_000; // blocks per eth_getLogs call
const ERC20 = ["function symbol() view returns (string)", "function decimals() view returns (uint8)"];

/** A problem with the page's configuration or the node: shown as is, in plain words. */
export class SetupError extends Error {}

let abiPromise = null;
export function loadAbi() {
  abiPromise ??= fetch(new URL("../abi/BountyMarket.json", import.meta.url)).then((r) => {
    if (!r.ok) throw new SetupError(`abi/BountyMarket.json is missing (HTTP ${r.status}): run \`node frontend/build.mjs\`.`);
    return r.json();
  });
  return abiPromise;
}

/** One JSON-RPC call with a timeout, before ethers is involved, so that an absent node fails fast. */
async function rawCall(url, method, params = [], timeoutMs = 8000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: ctl.signal,
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    if (body.error) throw new Error(body.error.message || JSON.stringify(body.error));
    return body.result;
  } catch (e) {
    throw new Error(e.name === "AbortError" ? `no answer within ${timeoutMs / 1000} s` : e.message || String(e));
  } finally {
    clearTimeout(timer);
  }
}

export function shortError(e) {
  const msg = e?.shortMessage || e?.reason || e?.message || String(e);
  return msg.length > 200 ? msg.slice(0, 200) + "…" : msg;
}

/** A market at `address` on the node at `rpc`, checked: the node answers and the address is a market. */
export async function openMarket({ rpc, address, fromBlock = 0, chainId: expectedChain = null }) {
  let chainHex;
  try {
    new URL(rpc);
  } catch {
    throw new SetupError(`"${rpc}" is not a URL: give the node's RPC URL, e.g. ?rpc=http://127.0.0.1:8545`);
  }
  try {
    chainHex = await rawCall(rpc, "eth_chainId");
  } catch (e) {
    throw new SetupError(
      `Cannot reach the Ethereum node at ${rpc} (${e.message}). Is the node running, ` +
        `and does it accept requests from this page's origin (CORS)?`,
    );
  }
  const chainId = Number(BigInt(chainHex));
  if (expectedChain !== null && Number(expectedChain) !== chainId) {
    throw new SetupError(`The deployment record is for chain ${expectedChain}, but the node at ${rpc} runs chain ${chainId}.`);
  }
  if (!address) throw new SetupError("No market address: add ?market=0x… (or ?deployment=URL of a deployments/<network>.json).");
  if (!ethers.isAddress(address)) throw new SetupError(`"${address}" is not an Ethereum address.`);
  const network = ethers.Network.from(chainId);
  const provider = new ethers.JsonRpcProvider(rpc, network, { staticNetwork: network, batchMaxCount: 1 });
  const code = await provider.getCode(address);
  if (code === "0x") {
    throw new SetupError(`No contract at ${address} on chain ${chainId}: check the market address (it is contracts.BountyMarket in deployments/<network>.json).`);
  }
  const abi = await loadAbi();
  const contract = new ethers.Contract(address, abi, provider);
  let count;
  try {
    count = await contract.bountyCount();
    await contract.extension();
  } catch (e) {
    throw new SetupError(`The contract at ${address} is not a Fathom BountyMarket (bountyCount() failed: ${shortError(e)}). Check the market address.`);
  }
  return new Market(provider, contract, chainId, Number(fromBlock) || 0, Number(count));
}

export class Market {
  constructor(provider, contract, chainId, fromBlock, count) {
    Object.assign(this, { provider, contract, chainId, fromBlock, count });
    this.address = contract.target;
    this.iface = contract.interface;
    const create = this.iface.getFunction("createBounty");
    this.paramsType = create.inputs[0];
    this.tokens = new Map();
  }

  async token(address) {
    if (address === ZERO_ADDRESS) return { address, symbol: "ETH", decimals: 18, balanceChecked: false };
    if (!this.tokens.has(address)) {
      const erc20 = new ethers.Contract(address, ERC20, this.provider);
      // rule P4: balance-checked by the market, or listed as fixed-balance by its deployer
      const meta = Promise.all([erc20.symbol().catch(() => address.slice(0, 8)), erc20.decimals().catch(() => 18n),
        this.contract.balanceChecked(address)])
        .then(([symbol, decimals, balanceChecked]) => ({ address, symbol, decimals: Number(decimals), balanceChecked }));
      this.tokens.set(address, meta);
    }
    return this.tokens.get(address);
  }

  /** Decoded market logs, in chain order, optionally only one bounty's and/or one event's. */
  async logs(bountyId = null, eventName = null) {
    const latest = await this.provider.getBlockNumber();
    const topics = [eventName === null ? null : this.iface.getEvent(eventName).topicHash];
    if (bountyId !== null) topics.push(ethers.zeroPadValue(ethers.toBeHex(bountyId), 32));
    const out = [];
    for (let lo = this.fromBlock; lo <= latest; lo += LOG_STEP) {
      const hi = Math.min(latest, lo + LOG_STEP - 1);
      const raw = await this.provider.getLogs({ address: this.address, topics, fromBlock: lo, toBlock: hi });
      for (const log of raw) {
        let parsed;
        try {
          parsed = this.iface.parseLog(log);
        } catch {
          continue;
        }
        if (!parsed) continue;
        if (bountyId !== null && (!("bountyId" in parsed.args.toObject()) || parsed.args.bountyId !== BigInt(bountyId))) continue;
        out.push({ name: parsed.name, args: parsed.args, block: log.blockNumber, tx: log.transactionHash });
      }
    }
    return out;
  }

  decodeParams(bytes) {
    const [p] = ethers.AbiCoder.defaultAbiCoder().decode([this.paramsType], bytes);
    let metric;
    try {
      metric = ethers.decodeBytes32String(p.metric);
    } catch {
      metric = p.metric;
    }
    return { resolution: p.resolution, metric, committee: [...p.committee], higherIsBetter: p.higherIsBetter,
      keyring: { digest: p.keyring.digest, codec: p.keyring.codec } }; // the opening keyring: its brief (privacy.js)
  }

  async blockNumber() {
    return this.provider.getBlockNumber();
  }

  /** Every bounty: its view, state, curve and the parameters it was opened with. */
  async bounties() {
    this.count = Number(await this.contract.bountyCount());
    const opened = new Map();
    for (const e of await this.logs(null, "BountyOpened")) {
      if (e.name === "BountyOpened") opened.set(Number(e.args.bountyId), this.decodeParams(e.args.params));
    }
    const ids = Array.from({ length: this.count }, (_, i) => i + 1);
    return Promise.all(ids.map((id) => this.summary(id, opened.get(id))));
  }

  async summary(id, params) {
    const c = this.contract;
    const [view, state, [xs, ys]] = await Promise.all([c.getBounty(id), c.state(id), c.getCurve(id)]);
    const token = await this.token(view.token);
    return {
      id,
      view,
      state: STATES[Number(state)] ?? `state ${state}`,
      curve: xs.map((x, i) => [x, ys[i]]),
      token,
      params: params ?? { resolution: 10n ** 14n, metric: "?", committee: [], higherIsBetter: view.higherIsBetter },
    };
  }

  /** One bounty in full: summary, lineage (versions), submissions and contributors' books from events. */
  async bounty(id) {
    const events = await this.logs(id);
    const openedEv = events.find((e) => e.name === "BountyOpened");
    if (id < 1 || id > this.count || !openedEv) {
      this.count = Number(await this.contract.bountyCount());
      if (id < 1 || id > this.count) throw new SetupError(`There is no bounty ${id} in this market (it has ${this.count}).`);
    }
    const summary = await this.summary(id, openedEv ? this.decodeParams(openedEv.args.params) : undefined);
    const baselineEv = events.find((e) => e.name === "BaselineSet");
    const versions = [{ version: 0, parent: null, score: baselineEv ? baselineEv.args.score : null, author: summary.view.requester,
      submission: null, reward: 0n, block: baselineEv?.block ?? null }];
    const submissions = new Map();
    const people = new Map();
    const person = (a) => {
      if (!people.has(a)) people.set(a, { address: a, submitted: 0, accepted: 0, rejected: 0, slashed: 0, reward: 0n, burned: 0n, returned: 0n });
      return people.get(a);
    };
    for (const e of events) {
      const a = e.args;
      if (e.name === "SubmissionReceived") {
        // bit 95 of the record's stake field marks a one-off submission (submitUpdateOnce, rule U6)
        // the event leaves the batch out: it is submissionId / batchSize (rule U3)
        submissions.set(a.submissionId, { id: a.submissionId, contributor: a.contributor, batch: a.submissionId / BigInt(summary.view.batchSize), baseVersion: a.baseVersion,
          stake: a.stake & (ONE_OFF - 1n), oneOff: (a.stake & ONE_OFF) !== 0n, outcome: "pending", score: null, block: e.block,
          update: cidString(a.update.digest, a.update.codec) });
        person(a.contributor).submitted += 1;
      } else if (e.name === "VersionAccepted") {
        // the batch's merged model (rule R5); its merged updates follow as UpdateMerged events
        versions.push({ version: Number(a.version), parent: Number(a.parent), score: a.score, author: a.author,
          submission: a.submissionId, reward: a.reward, block: e.block, update: cidString(a.update.digest, a.update.codec), merged: [] });
      } else if (e.name === "UpdateMerged") {
        // merged into the version settled in the same block (the last VersionAccepted), paid its share
        const p = person(a.contributor);
        p.accepted += 1;
        p.reward += a.reward;
        const s = submissions.get(a.submissionId);
        const v = versions[versions.length - 1];
        if (s) Object.assign(s, { outcome: `accepted as v${v.version}`, score: a.score, reward: a.reward, share: a.share });
        // every merged update of the version, in id order (the privacy section shows each one's statement)
        if (s && v.merged) v.merged.push({ submission: a.submissionId, update: s.update, share: a.share });
      } else if (e.name === "BatchSettled") {
        // one event per batch: bit i of `rejected` is submission batch * batchSize + i (stake
        // back in full), its median the i-th 4 bytes of `scores`
        const scores = ethers.getBytes(a.scores);
        const first = a.batch * BigInt(summary.view.batchSize);
        for (let i = 0; i < scores.length / 4; i++) {
          if (((a.rejected >> BigInt(i)) & 1n) === 0n) continue;
          const s = submissions.get(first + BigInt(i));
          if (!s) continue;
          person(s.contributor).rejected += 1;
          Object.assign(s, { outcome: "rejected", score: BigInt(new DataView(scores.buffer, scores.byteOffset + 4 * i, 4).getUint32(0)) });
        }
      } else if (e.name === "StakeSlashed") {
        const p = person(a.contributor);
        p.slashed += 1;
        p.burned += a.burned;
        p.returned += a.returned;
        const s = submissions.get(a.submissionId);
        if (s) Object.assign(s, { outcome: "slashed", score: a.score, burned: a.burned, returned: a.returned });
      } else if (e.name === "BatchVoided") {
        for (const s of submissions.values()) if (s.batch === a.batch && s.outcome === "pending") s.outcome = "voided (stake returned)";
      }
    }
    const contributors = [...people.values()];
    const claimables = await Promise.all(contributors.map((p) => this.contract.claimable(p.address, summary.view.token)));
    contributors.forEach((p, i) => (p.claimable = claimables[i]));
    contributors.sort((x, y) => (y.reward > x.reward ? 1 : y.reward < x.reward ? -1 : y.accepted - x.accepted));
    const [committee] = await this.contract.getCommittee(id);
    const payouts = await this.payouts(id, summary, [...submissions.values()]);
    return { ...summary, versions, submissions: [...submissions.values()], contributors, committee: [...committee],
      payouts, revealed: events.some((e) => e.name === "ValidationRevealed") };
  }

  /**
   * The one-off payouts (rule P3) the bounty's decided batches owe, each with its claimPayout
   * arguments: the amount (stake back, less any slash, plus the reward when accepted), the
   * position (batch << 8 | index) and the 5-hash proof of its group's tree, rebuilt from the
   * events and checked against payoutRoot, which also says whether it was claimed.
   */
  async payouts(id, summary, submissions) {
    const size = BigInt(summary.view.batchSize);
    const token = summary.view.token;
    const owed = [];
    for (const s of submissions) {
      if (!s.oneOff) continue;
      let amount = null;
      if (s.outcome === "rejected") amount = s.stake;
      else if (s.outcome === "slashed") amount = s.returned;
      else if (s.outcome.startsWith("accepted")) amount = s.stake + s.reward;
      if (amount === null || amount === 0n || amount >= ONE_OFF) continue; // undecided, voided, or paid to a balance
      const index = s.id - s.batch * size;
      owed.push({ submission: s.id, contributor: s.contributor, batch: s.batch, index, group: index / 32n, amount,
        position: (s.batch << 8n) | index, leaf: ethers.solidityPackedKeccak256(["address", "uint96", "address"], [s.contributor, amount, token]) });
    }
    const groups = new Map();
    for (const p of owed) {
      const key = `${p.batch}/${p.group}`;
      if (!groups.has(key)) groups.set(key, Array(32).fill(ethers.ZeroHash));
      groups.get(key)[Number(p.index % 32n)] = p.leaf;
    }
    const out = [];
    for (const p of owed) {
      const [root, claimed] = await this.contract.payoutRoot(id, p.batch, p.group);
      const { proof, top } = payoutProof(groups.get(`${p.batch}/${p.group}`), Number(p.index % 32n));
      if (top !== root) throw new SetupError(`Bounty ${id}, batch ${p.batch}: the events do not rebuild the stored payout root.`);
      out.push({ ...p, bountyId: BigInt(id), token, proof, claimed: ((BigInt(claimed) >> (p.index % 32n)) & 1n) === 1n });
    }
    return out;
  }

  async claimable(account, token = ZERO_ADDRESS) {
    return this.contract.claimable(account, token);
  }
}
