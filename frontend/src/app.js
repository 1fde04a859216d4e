// Fathom's dApp page: configuration, routing, the bounty list, one bounty, and the wallet.
//
// Configuration (first match wins):
//   ?rpc=http://127.0.0.1:8545&market=0x…      the node and the BountyMarket address
//   ?deployment=URL                           a deployments/<network>.json record (contracts.BountyMarket,
//                                             block = first block to read events from, chain_id checked)
//   config.json next to this page             {"rpc": …, "market": …} or {"rpc": …, "deployment": …}
// `rpc` defaults to http://127.0.0.1:8545; `from=<block>` sets the first block to read events from.
// `ipfs=URL` (an IPFS gateway's /ipfs/ prefix) lets a bounty's page read its brief (mode, largest
// epsilon) and, with `keys=URL` (a committee member's disclosure, {cid: hex key}), each version's
// privacy statement (privacy.js).
// Views: #/ (all bounties) and #/bounty/<id>.

import { ZERO_ADDRESS, amountText, dateText, decimalText, fractionText, h, scoreText, shortAddress } from "./format.js";
import { curveChart, lineageChart } from "./chart.js";
import { SetupError, openMarket, shortError } from "./market.js";
import { bountyPrivacy, epsilonText, modeText, statementText } from "./privacy.js";
import { Wallet, walletError } from "./wallet.js";

const DEFAULT_RPC = "http://127.0.0.1:8545";
const $ = (sel) => document.querySelector(sel);

const app = { config: null, market: null, wallet: Wallet.detect(), claimable: null, busy: false };

// ------------------------------------------------------------------ status and errors

function setStatus(status) {
  document.body.dataset.status = status;
}

function showError(e) {
  const box = $("#error");
  box.replaceChildren(h("strong", {}, "Error: "), e instanceof SetupError ? e.message : shortError(e));
  box.hidden = false;
  setStatus("error");
}

function clearError() {
  $("#error").hidden = true;
}

// ------------------------------------------------------------------ configuration

async function fetchJson(url, what) {
  let res;
  try {
    res = await fetch(url, { cache: "no-store" });
  } catch (e) {
    throw new SetupError(`Cannot fetch ${what} from ${url} (${e.message}).`);
  }
  if (!res.ok) throw new SetupError(`Cannot fetch ${what} from ${url} (HTTP ${res.status}).`);
  try {
    return await res.json();
  } catch {
    throw new SetupError(`${what} at ${url} is not JSON.`);
  }
}

async function fromDeployment(url, rpc) {
  const record = await fetchJson(new URL(url, location.href), "the deployment record");
  const market = record?.contracts?.BountyMarket;
  if (!market) throw new SetupError(`The deployment record at ${url} names no contracts.BountyMarket.`);
  return { rpc: rpc || record.rpc || DEFAULT_RPC, address: market, fromBlock: Number(record.block) || 0,
    chainId: record.chain_id ?? null, source: `deployment ${url}` };
}

async function readConfig() {
  const q = new URLSearchParams(location.search);
  const rpc = q.get("rpc");
  const from = q.get("from");
  let config = null;
  if (q.get("market")) config = { rpc: rpc || DEFAULT_RPC, address: q.get("market"), fromBlock: 0, chainId: null, source: "query string" };
  else if (q.get("deployment")) config = await fromDeployment(q.get("deployment"), rpc);
  else {
    const res = await fetch("config.json", { cache: "no-store" }).catch(() => null);
    if (res && res.ok) {
      const c = await res.json().catch(() => null);
      if (c?.market) config = { rpc: rpc || c.rpc || DEFAULT_RPC, address: c.market, fromBlock: Number(c.from) || 0, chainId: null, source: "config.json" };
      else if (c?.deployment) config = await fromDeployment(c.deployment, rpc || c.rpc);
    }
  }
  if (!config) {
    $("#settings").open = true;
    throw new SetupError("No market configured: give the node's RPC URL and the BountyMarket address below, or open this page with ?rpc=…&market=0x… (or ?deployment=URL of a deployments/<network>.json).");
  }
  if (from !== null) config.fromBlock = Number(from) || 0;
  return config;
}

function fillSettings() {
  const q = new URLSearchParams(location.search);
  const form = $("#settings form");
  form.rpc.value = app.config?.rpc ?? q.get("rpc") ?? DEFAULT_RPC;
  form.market.value = q.get("market") ?? app.config?.address ?? "";
  form.deployment.value = q.get("deployment") ?? "";
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    if (form.rpc.value.trim()) next.set("rpc", form.rpc.value.trim());
    if (form.market.value.trim()) next.set("market", form.market.value.trim());
    else if (form.deployment.value.trim()) next.set("deployment", form.deployment.value.trim());
    location.search = next.toString();
  });
}

// ------------------------------------------------------------------ views

/** A header row; names starting with "#" head numeric (right-aligned) columns. */
function headRow(names) {
  return h("thead", {}, h("tr", {}, names.map((t) => (t.startsWith("#") ? h("th", { class: "num" }, t.slice(1)) : h("th", {}, t)))));
}

function stateBadge(state) {
  return h("span", { class: `state state-${state}` }, state);
}

function amountCell(wei, token, cls) {
  return h("td", { class: `num ${cls}`, title: `${decimalText(wei, token.decimals, token.decimals)} ${token.symbol}`, dataset: { wei: String(wei) } },
    amountText(wei, token));
}

function breakpoints(curve) {
  return h("span", { class: "breakpoints" },
    curve.flatMap(([x, y], i) => [i ? " " : null,
      h("span", { class: "bp", dataset: { x: String(x), y: String(y) } }, `(${fractionText(x)}, ${fractionText(y)})`)]));
}

function headScore(b) {
  return b.view.baselineSet ? scoreText(b.view.headScore, b.params.resolution) : "-";
}

async function renderList() {
  const bounties = await app.market.bounties();
  const rows = bounties.map((b) => h("tr", { class: "bounty", dataset: { id: String(b.id), state: b.state } },
    h("td", {}, h("a", { href: `#/bounty/${b.id}` }, `#${b.id}`)),
    h("td", { class: "state-cell" }, stateBadge(b.state)),
    amountCell(b.view.reward, b.token, "reward"),
    amountCell(b.view.paid, b.token, "paid"),
    h("td", { class: "metric" }, b.params.metric),
    h("td", { class: "num baseline" }, b.view.baselineSet ? scoreText(b.view.baselineScore, b.params.resolution) : "-"),
    h("td", { class: "num head", dataset: { score: String(b.view.headScore) } }, headScore(b)),
    h("td", { class: "num target" }, scoreText(b.view.target, b.params.resolution)),
    h("td", { class: "num versions" }, String(b.view.versionCount)),
    h("td", { class: "num submissions" }, String(b.view.submissionCount)),
    h("td", { class: "curve-cell" }, curveChart(b.curve, { width: 48, height: 24, mini: true }), breakpoints(b.curve)),
  ));
  return [
    h("h2", {}, `Bounties (${bounties.length})`),
    bounties.length === 0 ? h("p", { class: "empty" }, "This market has no bounty yet.") :
      h("table", { class: "bounties" },
        headRow(["bounty", "state", "#reward", "#paid", "metric", "#baseline", "#head score", "#target", "#versions", "#submissions", "reward curve (p, c(p))"]),
        h("tbody", {}, rows)),
  ];
}

function addressCell(a, cls = "address", label = null) {
  return h("td", { class: cls, title: a, dataset: { address: a } }, h("code", {}, label ?? shortAddress(a)));
}

/** Rule P4: whether the market protects the bounty's token against a balance that falls without a transfer. */
function tokenText(token) {
  if (token.address === ZERO_ADDRESS) return "ETH";
  return token.balanceChecked
    ? `${token.symbol} ${token.address}: balance-checked (rule P4): payouts freeze if the market's balance falls short`
    : `${token.symbol} ${token.address}: listed as fixed-balance by the deployer (rule P4): not balance-checked`;
}

async function renderBounty(id) {
  const b = await app.market.bounty(id);
  const { view, token, params } = b;
  const res = params.resolution;
  const you = app.wallet?.account;
  const names = { [view.requester]: "requester" };
  if (you) names[you] = `${shortAddress(you)} (you)`;

  const facts = [
    ["state", stateBadge(b.state)],
    ["requester", h("code", { title: view.requester }, view.requester)],
    ["reward", `${amountText(view.reward, token)} escrowed, ${amountText(view.paid, token)} paid to contributors`],
    ["token", tokenText(token)],
    ["metric", `${params.metric} (${params.higherIsBetter ? "higher" : "lower"} is better), resolution ${fractionText(res)}`],
    ["baseline → head", `${view.baselineSet ? scoreText(view.baselineScore, res) : "-"} → ${headScore(b)} (target ${scoreText(view.target, res)})`],
    ["versions / submissions", `${view.versionCount} accepted of ${view.submissionCount} submitted`],
    ["stake per submission", `${amountText(view.stake, token)}; slash ${Number(view.slashBps) / 100}% when worse by more than ${scoreText(view.slashMargin, res)}`],
    ["batches", `${view.batchSize} submissions each, at most ${view.maxBatches}; oracle fee ${amountText(view.oracleFeePerBatch, token)} per batch`],
    ["committee", h("span", {},
      h("strong", { class: view.trustedCommittee ? "committee-trusted" : "committee-drawn" },
        view.trustedCommittee ? "trusted (named by the requester) " : "drawn from the registry (stake-weighted) "),
      ...b.committee.map((a) => h("code", { class: "member", title: a }, BigInt(a) === 0n ? "(empty seat)" : shortAddress(a))))],
    ["deadline", dateText(view.deadline)],
    ["validation set", b.revealed ? "revealed: anyone can re-score the lineage (fathom audit)" : "hidden (committed on chain)"],
  ];

  const versionRows = b.versions.map((v) => h("tr", { class: "version", dataset: { version: String(v.version) } },
    h("td", {}, `v${v.version}`),
    h("td", {}, v.parent === null ? "-" : `v${v.parent}`),
    h("td", { class: "num score", dataset: { score: String(v.score ?? "") } }, scoreText(v.score, res)),
    v.version === 0 ? h("td", {}, "initial model") : addressCell(v.author, "author", names[v.author]),
    h("td", { class: "num" }, v.submission === null ? "-" : `#${v.submission}`),
    amountCell(v.reward, token, "reward"),
  ));

  const contributorRows = b.contributors.map((p) => h("tr", { class: `contributor${p.address === you ? " you" : ""}`, dataset: { address: p.address } },
    addressCell(p.address, "address", p.address === you ? `${shortAddress(p.address)} (you)` : null),
    h("td", { class: "num submitted" }, String(p.submitted)),
    h("td", { class: "num accepted" }, String(p.accepted)),
    h("td", { class: "num rejected" }, String(p.rejected)),
    h("td", { class: "num slashed" }, String(p.slashed)),
    amountCell(p.reward, token, "reward"),
    amountCell(p.burned, token, "burned"),
    amountCell(p.claimable, token, "claimable"),
  ));

  const submissionRows = b.submissions.map((s) => h("tr", { class: `submission outcome-${s.outcome.split(" ")[0]}`, dataset: { id: String(s.id) } },
    h("td", {}, `#${s.id}`),
    addressCell(s.contributor, "address", names[s.contributor]),
    h("td", { class: "num" }, String(s.batch)),
    h("td", {}, `v${s.baseVersion}`),
    h("td", { class: "num" }, scoreText(s.score, res)),
    h("td", { class: "outcome" }, s.outcome + (s.burned ? `, ${amountText(s.burned, token)} burned` : "")),
  ));

  const privacy = await privacyOf(b);

  return [
    h("p", {}, h("a", { href: "#/" }, "← all bounties")),
    h("h2", {}, `Bounty #${id} `, stateBadge(b.state)),
    h("div", { class: "columns" },
      h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("figure", { class: "curve-figure" }, curveChart(b.curve), h("figcaption", {}, "reward curve: ", breakpoints(b.curve)))),
    h("h3", {}, `Lineage: ${b.versions.length} versions`),
    h("figure", { class: "lineage-figure" }, lineageChart({ versions: b.versions, resolution: res, target: view.target, token, names })),
    h("table", { class: "versions" },
      headRow(["version", "parent", "#score", "author", "#submission", "#reward"]),
      h("tbody", {}, versionRows)),
    ...privacySection(privacy, b),
    h("h3", {}, `Contributors (${b.contributors.length})`),
    h("p", { class: "note" }, "Rewards from UpdateMerged events (each merged update's share of its version's reward), burned stake from StakeSlashed events; claimable is what the market holds for the account now (rewards and returned stakes of every bounty)."),
    b.contributors.length === 0 ? h("p", { class: "empty" }, "No submission yet.") :
      h("table", { class: "contributors" },
        headRow(["contributor", "#submitted", "#accepted", "#rejected", "#slashed", "#rewards", "#stake burned", "#claimable now"]),
        h("tbody", {}, contributorRows)),
    ...payoutSection(b, you, token),
    h("h3", {}, `Submissions (${b.submissions.length})`),
    h("table", { class: "submissions" },
      headRow(["submission", "contributor", "#batch", "trained on", "#score", "outcome"]),
      h("tbody", {}, submissionRows)),
  ];
}

/** The bounty's privacy from its brief and its versions' updates (privacy.js), via the configured gateway. */
async function privacyOf(b) {
  const q = new URLSearchParams(location.search);
  const gateway = q.get("ipfs") ? new URL(q.get("ipfs"), location.href) : null;
  let keys = null;
  if (q.get("keys")) keys = await fetchJson(new URL(q.get("keys"), location.href), "the disclosed update keys").catch(() => null);
  return bountyPrivacy({ gateway, keys, keyring: b.params.keyring, versions: b.versions });
}

/** The bounty's mode, its largest epsilon and the privacy statement of every merged update of
 * each version (issues 16, 17). */
function privacySection(p, b) {
  if (p.unread) return [h("h3", {}, "Privacy"), h("p", { class: "privacy-unread note" }, `Not read: ${p.unread}.`)];
  // one row per merged update of each version (R5: a version may merge several, each with its own statement)
  const rows = b.versions.filter((v) => v.version > 0).flatMap((v) => (p.versions[v.version] ?? [{ submission: v.submission, statement: "sealed" }])
    .map((u) => h("tr", { class: "privacy-version", dataset: { version: String(v.version), submission: String(u.submission) } },
      h("td", {}, `v${v.version}`),
      h("td", { class: "num" }, `#${u.submission}`),
      // null is "no statement" (read with a disclosed key), not "sealed"
      h("td", { class: "statement" }, statementText(u.statement)))));
  return [
    h("h3", {}, "Privacy"),
    h("dl", { class: "facts privacy" },
      h("dt", {}, "mode"), h("dd", { class: "mode", dataset: { mode: p.mode } }, modeText(p)),
      h("dt", {}, "largest epsilon"), h("dd", { class: "max-epsilon" }, epsilonText(p.maxEpsilon))),
    rows.length === 0 ? h("p", { class: "empty" }, "No accepted version yet.") :
      h("table", { class: "privacy-statements" }, headRow(["version", "#merged update", "privacy statement (mechanism, unit, ε, δ, accountant)"]), h("tbody", {}, rows)),
  ];
}

/** The connected account's one-off payouts in this bounty (rule P3), each with its Claim button. */
function payoutSection(b, you, token) {
  const mine = you ? b.payouts.filter((p) => p.contributor === you) : [];
  if (mine.length === 0) return [];
  const otherChain = app.wallet?.chainId !== app.market.chainId; // the wallet would send it elsewhere
  const rows = mine.map((p) => h("tr", { class: `payout${p.claimed ? " claimed" : ""}`, dataset: { submission: String(p.submission) } },
    h("td", {}, `#${p.submission}`),
    h("td", { class: "num" }, String(p.batch)),
    amountCell(p.amount, token, "amount"),
    h("td", {}, p.claimed ? "claimed" : h("button", { type: "button", class: "claim-payout", dataset: { submission: String(p.submission) },
      disabled: otherChain || app.busy, onclick: () => claimPayout(p, token) }, "Claim")),
  ));
  return [
    h("h3", {}, `Your one-off payouts (${mine.length})`),
    h("p", { class: "note" }, "Submissions made with submitUpdateOnce are paid through a Merkle root per group of 32, not a claimable balance: each is claimed once, with the proof this page rebuilds from the events."),
    h("table", { class: "payouts" }, headRow(["submission", "#batch", "#amount", ""]), h("tbody", {}, rows)),
  ];
}

async function claimPayout(p, token) {
  const w = app.wallet;
  if (!w?.account || app.busy || w.chainId !== app.market.chainId) return;
  app.busy = true;
  document.querySelectorAll("button.claim-payout").forEach((b) => (b.disabled = true));
  walletStatus(`Confirm the claim of submission #${p.submission}'s payout in your wallet…`);
  try {
    const r = await w.claimPayout(app.market, p, (hash) => walletStatus(`Payout claim sent (${shortAddress(hash)}); waiting for it to be mined…`));
    app.busy = false;
    walletStatus(`Claimed ${amountText(r.amount, token)} for submission #${p.submission} in block ${r.block} (tx ${shortAddress(r.hash)}).`, "ok");
    $("#wallet-status").dataset.amount = String(r.amount);
    $("#wallet").dataset.state = "payout-claimed";
    await route();
  } catch (e) {
    app.busy = false;
    walletStatus(`Payout claim failed: ${walletError(e, app.market)}`, "error");
    await route().catch(() => {});
  }
}

/** Renders the view the address names. A render started later wins: an earlier one still
 * reading the chain (a claim's re-render while the page reloads, say) is dropped, so stale
 * data never replaces fresher data. */
let renders = 0;
async function route() {
  if (!app.market) return;
  const seq = ++renders;
  const m = location.hash.match(/^#\/bounty\/(\d+)$/);
  setStatus("loading");
  clearError();
  try {
    const content = m ? await renderBounty(Number(m[1])) : await renderList();
    if (seq !== renders) return;
    $("#view").replaceChildren(...content);
    document.body.dataset.view = m ? "bounty" : "list";
    await renderNetwork();
    if (seq !== renders) return;
    setStatus("ready");
  } catch (e) {
    if (seq === renders) showError(e);
  }
}

async function renderNetwork() {
  const block = await app.market.blockNumber().catch(() => "?");
  $("#network").replaceChildren(
    h("span", {}, `chain ${app.market.chainId}`), " · ",
    h("span", { title: app.config.rpc }, app.config.rpc), " · ",
    h("span", {}, "market ", h("code", { title: app.market.address }, shortAddress(app.market.address))), " · ",
    h("span", { id: "block" }, `block ${block}`));
}

// ------------------------------------------------------------------ wallet

function walletStatus(text, kind = "info") {
  const el = $("#wallet-status");
  el.textContent = text;
  el.dataset.kind = kind;
}

async function refreshClaimable() {
  const w = app.wallet;
  const area = $("#wallet");
  if (!w?.account) return;
  const mismatch = w.chainId !== app.market.chainId;
  app.claimable = await app.market.claimable(w.account, ZERO_ADDRESS);
  const eth = { symbol: "ETH", decimals: 18 };
  area.dataset.state = "connected";
  $("#account").replaceChildren(h("code", { title: w.account }, shortAddress(w.account)));
  $("#account").dataset.address = w.account;
  const claimable = $("#claimable");
  claimable.textContent = amountText(app.claimable, eth);
  claimable.dataset.wei = String(app.claimable);
  claimable.title = `${decimalText(app.claimable, 18, 18)} ETH`;
  $("#connect").hidden = true;
  $("#connected").hidden = false;
  const btn = $("#claim");
  btn.disabled = app.busy || mismatch || app.claimable === 0n;
  if (mismatch) walletStatus(`Your wallet is on chain ${w.chainId}, this page reads chain ${app.market.chainId}: switch networks in the wallet to claim.`, "error");
}

async function connectWallet() {
  try {
    walletStatus("Waiting for the wallet…");
    await app.wallet.connect();
    walletStatus("");
    await refreshClaimable();
    if (document.body.dataset.view === "bounty") await route();
  } catch (e) {
    walletStatus(`Could not connect the wallet: ${walletError(e, app.market)}`, "error");
  }
}

async function claim() {
  const w = app.wallet;
  app.busy = true;
  $("#claim").disabled = true;
  $("#wallet").dataset.state = "claiming";
  walletStatus("Confirm the claim in your wallet…");
  try {
    const r = await w.claim(app.market, ZERO_ADDRESS, (hash) => walletStatus(`Claim sent (${shortAddress(hash)}); waiting for it to be mined…`));
    app.busy = false;
    await refreshClaimable();
    $("#wallet").dataset.state = "claimed";
    walletStatus(`Claimed ${amountText(r.amount, { symbol: "ETH", decimals: 18 })} in block ${r.block} (tx ${shortAddress(r.hash)}).`, "ok");
    $("#wallet-status").dataset.amount = String(r.amount);
    await route();
  } catch (e) {
    app.busy = false;
    $("#wallet").dataset.state = "connected";
    walletStatus(`Claim failed: ${walletError(e, app.market)}`, "error");
    await refreshClaimable().catch(() => {});
  }
}

function setupWallet() {
  const area = $("#wallet");
  area.hidden = false;
  if (!app.wallet) {
    area.dataset.state = "none";
    $("#connect").disabled = true;
    walletStatus("No wallet found: install an EIP-1193 wallet (window.ethereum) to claim.");
    return;
  }
  area.dataset.state = "disconnected";
  $("#connect").addEventListener("click", connectWallet);
  $("#claim").addEventListener("click", claim);
  app.wallet.on("accountsChanged", (accounts) => {
    app.wallet.account = accounts?.[0] ? accounts[0] : null;
    if (app.wallet.account) refreshClaimable().then(route);
  });
  app.wallet.on("chainChanged", (chainId) => {
    app.wallet.chainId = Number(BigInt(chainId));
    refreshClaimable();
  });
}

// ------------------------------------------------------------------ start

async function boot() {
  setStatus("loading");
  $("#reload").addEventListener("click", () => route().then(refreshClaimable));
  try {
    app.config = await readConfig();
  } catch (e) {
    fillSettings();
    showError(e);
    return;
  }
  fillSettings();
  try {
    app.market = await openMarket(app.config);
  } catch (e) {
    $("#settings").open = true;
    showError(e);
    return;
  }
  setupWallet();
  window.addEventListener("hashchange", route);
  await route();
}

boot();
