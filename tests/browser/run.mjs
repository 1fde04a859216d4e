#!/usr/bin/env node
// End-to-end test of the dApp page (frontend/) in headless Chromium, against a local chain
// loaded with a demo round.
//
//   node tests/browser/run.mjs [--chain anvil|ganache] [--keep]
//
// 1. builds frontend/ (node frontend/build.mjs: ethers and the ABIs);
// 2. starts tests/browser/demo_round.py: a local chain with a whole demo round on it, kept up
//    while this runs; it writes what the page must show, read with web3.py (round.json);
// 3. serves frontend/ with `python -m http.server` on a free port;
// 4. drives Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium; tools/chromium.sh
//    installs it) with playwright-core and checks the bounty list, the bounty page (lineage
//    chart, versions, contributors' rewards and slashes), the errors for a dead node and for an
//    address that is not a market, configuration by deployment record, and the claim flow
//    through an injected EIP-1193 wallet that signs with contributor c0's key;
// 5. saves a screenshot of the bounty page to reports/dapp.png (and the list to reports/dapp-list.png).
//
// Ends with "browser: N checks passed" (or "browser: N checks passed, M failed") and exits
// non-zero on any failure. --keep leaves the chain and the page up until Ctrl-C.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ethers } from "ethers";
import { chromium } from "playwright-core";

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const SCREENSHOT = join(ROOT, "reports", "dapp.png");
const SCREENSHOT_LIST = join(ROOT, "reports", "dapp-list.png");
const TOTAL_TIMEOUT_MS = 300_000;
const args = process.argv.slice(2);
const chainKind = args.includes("--chain") ? args[args.indexOf("--chain") + 1] : "anvil";
const keep = args.includes("--keep");

const started = Date.now();
const children = [];
let workdir = null;
let browser = null;

function say(msg) {
  console.log(`browser: ${msg}`);
}

// ------------------------------------------------------------------ checks

const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok: !!ok });
  console.log(`  ${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : `: ${detail}`}`);
  return !!ok;
}
function checkEq(name, actual, expected) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  return check(name, a === e, `page shows ${a}, expected ${e}`);
}

function summary() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  return { passed, failed, line: `browser: ${passed} checks passed${failed ? `, ${failed} failed` : ""}` };
}

// ------------------------------------------------------------------ processes

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function python() {
  const venv = join(ROOT, ".venv", "bin", "python");
  if (!existsSync(venv)) throw new Error(".venv is missing: run `make setup` first");
  return venv;
}

function childEnv() {
  return { ...process.env, PATH: `${join(ROOT, ".venv", "bin")}:${process.env.PATH}`, PYTHONUNBUFFERED: "1" };
}

function run(cmd, argv, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, argv, { cwd: ROOT, stdio: "inherit", ...opts });
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${argv.join(" ")} exited with ${code}`))));
  });
}

/** Starts the demo round; resolves with round.json once the driver says "ready". */
function startRound() {
  return new Promise((resolve, reject) => {
    const p = spawn(python(), [join(ROOT, "tests", "browser", "demo_round.py"), "--chain", chainKind, "--workdir", workdir],
      { cwd: ROOT, env: childEnv(), stdio: ["pipe", "pipe", "pipe"] });
    children.push({ name: "demo round", proc: p, stop: () => {
      p.stdin.end();
      p.kill("SIGTERM");
    } });
    let done = false;
    let tail = "";
    const onData = (chunk) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        console.log(`  ${line}`);
        const m = line.match(/^demo-round: ready (.+)$/);
        if (m && !done) {
          done = true;
          resolve(JSON.parse(readFileSync(m[1].trim(), "utf8")));
        }
      }
    };
    p.stdout.on("data", onData);
    p.stderr.on("data", onData);
    p.on("error", reject);
    p.on("exit", (code) => {
      if (!done) reject(new Error(`the demo round exited with ${code} before it was ready (logs in ${workdir})`));
    });
  });
}

async function startServer() {
  const port = await freePort();
  const p = spawn(python(), ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", join(ROOT, "frontend")],
    { cwd: ROOT, env: childEnv(), stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr.on("data", (c) => (err = (err + c).slice(-2000)));
  children.push({ name: "static server", proc: p, stop: () => p.kill("SIGTERM") });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    if (p.exitCode !== null) throw new Error(`the static server exited: ${err}`);
    try {
      const res = await fetch(url);
      if (res.ok) return url;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the static server did not answer on ${url}`);
}

async function stopAll() {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  await Promise.all(children.splice(0).reverse().map(({ proc, stop }) => new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      resolve();
    }, 20_000);
    proc.on("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      stop();
    } catch {
      proc.kill("SIGTERM");
    }
  })));
}

// ------------------------------------------------------------------ the wallet injected into the page

/**
 * A minimal EIP-1193 provider (window.ethereum): eth_requestAccounts/eth_accounts answer the
 * test's account, eth_sendTransaction is signed with that account's key (held by this Node
 * process, reached through a Playwright binding) and sent to the local node as a raw
 * transaction; every other method is forwarded to the node as is.
 *
 * With `lateReceipts` (ms), the wallet's node answers eth_getTransactionReceipt with null for
 * that long after it accepted a transaction, as a node whose index lags its chain does. On a
 * chain that mines one block per transaction (anvil, ganache, `fathom devnet`) and then sits
 * idle, a page that waits for the receipt by listening for new blocks (ethers' tx.wait())
 * never sees it: the claim hangs. CI met this race by chance once; the option makes it certain.
 *
 * With `window.__fathomSpeedUpNext` set, the next transaction is "sped up" as wallets offer: the
 * page is given the hash of the transaction it asked for (shown as pending by this wallet's
 * node), and the node gets the same call at twice the fee instead, which is what is mined.
 */
function walletInitScript({ rpc, account, chainId = null, lateReceipts = 0 }) {
  let id = 0;
  let connected = false;
  const calls = (window.__walletCalls = []);
  const sentAt = new Map();
  const shown = new Map(); // hash -> the pending transaction the page was given (sped up)
  async function node(method, params) {
    const res = await fetch(rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: params ?? [] }),
    });
    const body = await res.json();
    if (body.error) {
      const e = new Error(body.error.message);
      e.code = body.error.code;
      e.data = body.error.data;
      throw e;
    }
    return body.result;
  }
  window.ethereum = {
    isFathomTestWallet: true,
    async request({ method, params }) {
      calls.push(method);
      switch (method) {
        case "eth_requestAccounts":
          connected = true;
          return [account];
        case "eth_accounts":
          return connected ? [account] : [];
        case "eth_chainId":
          return chainId ?? node(method, params);
        case "eth_sendTransaction": {
          if (!connected) throw Object.assign(new Error("not connected"), { code: 4100 });
          const speedUp = !!window.__fathomSpeedUpNext;
          window.__fathomSpeedUpNext = false;
          const signed = await window.__fathomTestSign(params[0], speedUp);
          const hash = await node("eth_sendRawTransaction", [signed.raw]);
          sentAt.set(String(hash).toLowerCase(), Date.now());
          if (!signed.shown) return hash;
          shown.set(signed.shown.hash.toLowerCase(), signed.shown);
          return signed.shown.hash;
        }
        case "eth_getTransactionByHash":
          return shown.get(String(params?.[0]).toLowerCase()) ?? node(method, params);
        case "eth_getTransactionReceipt": {
          const t = sentAt.get(String(params?.[0]).toLowerCase());
          if (t !== undefined && Date.now() - t < lateReceipts) return null;
          return node(method, params);
        }
        default:
          return node(method, params);
      }
    },
    on() {},
    removeListener() {},
  };
}

// ------------------------------------------------------------------ page helpers

async function newPage(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(`uncaught: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") page.errors.push(`console: ${m.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector("body[data-status=ready], body[data-status=error]", { timeout: 30_000 });
  return page;
}

const attrs = (page, selector, name) => page.$$eval(selector, (els, n) => els.map((e) => e.getAttribute(n)), name);
const texts = (page, selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));

// ------------------------------------------------------------------ the test

async function main() {
  if (!["anvil", "ganache"].includes(chainKind)) throw new Error(`--chain must be anvil or ganache, not ${chainKind}`);
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: run \`bash tools/chromium.sh\` (installs Debian's chromium) or set CHROMIUM_PATH`);
  await run(process.execPath, [join(ROOT, "frontend", "build.mjs")]);
  // the claims' wait for their receipts, against a mocked node (imported once the page is built)
  const receipts = await import("./receipts.mjs");
  await receipts.receiptChecks(check);
  workdir = mkdtempSync(join(tmpdir(), "fathom-browser-"));
  say(`running a demo round on ${chainKind} (about a minute; files in ${workdir})`);
  const [round, site] = await Promise.all([startRound(), startServer()]);
  const rpc = round.rpc;
  const market = round.market;
  const pageUrl = (query) => `${site}?${new URLSearchParams(query)}`;
  say(`chain ${rpc}, market ${market}, page ${site}`);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });

  // --- the bounty list
  const list = await newPage(context, pageUrl({ rpc, market }));
  check("list page loads", (await list.getAttribute("body", "data-status")) === "ready",
    await list.textContent("#error").catch(() => ""));
  const ids = await attrs(list, "tr.bounty", "data-id");
  checkEq("list: one row per bounty", ids, round.bounties.map((b) => String(b.id)));
  for (const b of round.bounties) {
    const row = `tr.bounty[data-id="${b.id}"]`;
    checkEq(`list: bounty ${b.id} state`, await list.textContent(`${row} .state`), b.state);
    checkEq(`list: bounty ${b.id} reward (wei)`, await list.getAttribute(`${row} td.reward`, "data-wei"), b.reward_wei);
    checkEq(`list: bounty ${b.id} reward shown`, await list.textContent(`${row} td.reward`), `${b.reward_text} ETH`);
    checkEq(`list: bounty ${b.id} head score`, await list.textContent(`${row} td.head`), b.head_text);
    checkEq(`list: bounty ${b.id} versions`, await list.textContent(`${row} td.versions`), String(b.version_count));
    const xs = await attrs(list, `${row} .bp`, "data-x");
    const ys = await attrs(list, `${row} .bp`, "data-y");
    checkEq(`list: bounty ${b.id} curve breakpoints (WAD)`, xs.map((x, i) => [x, ys[i]]), b.curve);
    checkEq(`list: bounty ${b.id} curve shown`, await texts(list, `${row} .bp`), b.curve_text.map(([x, y]) => `(${x}, ${y})`));
  }
  await list.screenshot({ path: SCREENSHOT_LIST, fullPage: true });

  // --- the bounty page, reached by its link
  const bid = round.bounty;
  const expected = round.bounties.find((b) => b.id === bid);
  await list.click(`tr.bounty[data-id="${bid}"] a`);
  await list.waitForSelector("body[data-view=bounty][data-status=ready]", { timeout: 30_000 });
  const page = list;
  checkEq("bounty page: one chart point per version (v0 = baseline)", await page.locator("svg.lineage circle.version").count(), round.versions.length);
  checkEq("bounty page: versions = versionCount + 1", round.versions.length, expected.version_count + 1);
  // rule C4: every place that shows a bounty says how its committee was chosen (the demo's is drawn)
  checkEq("bounty page: the committee is shown as drawn", await texts(page, "strong.committee-drawn"),
    ["drawn from the registry (stake-weighted)"]);
  checkEq("bounty page: a drawn committee is not shown as trusted", await page.locator("strong.committee-trusted").count(), 0);
  checkEq("bounty page: chart scores", await attrs(page, "svg.lineage circle.version", "data-score"), round.versions.map((v) => String(v.score)));
  checkEq("bounty page: version table scores", await texts(page, "tr.version td.score"), round.versions.map((v) => v.score_text));
  checkEq("bounty page: version rewards (wei) equal VersionAccepted", await attrs(page, "tr.version td.reward", "data-wei"), round.versions.map((v) => v.reward));
  const contributors = Object.entries(round.contributors);
  checkEq("bounty page: one row per contributor", (await attrs(page, "tr.contributor", "data-address")).sort(), contributors.map(([a]) => a).sort());
  for (const [addr, c] of contributors) {
    const row = `tr.contributor[data-address="${addr}"]`;
    const label = `contributor ${c.name}`;
    checkEq(`${label}: accepted/rejected/slashed/submitted`,
      await Promise.all(["accepted", "rejected", "slashed", "submitted"].map((k) => page.textContent(`${row} td.${k}`))),
      [c.accepted, c.rejected, c.slashed, c.submitted].map(String));
    checkEq(`${label}: rewards equal VersionAccepted events`,
      [await page.getAttribute(`${row} td.reward`, "data-wei"), await page.textContent(`${row} td.reward`)], [c.reward, `${c.reward_text} ETH`]);
    checkEq(`${label}: burned stake equals StakeSlashed events`,
      [await page.getAttribute(`${row} td.burned`, "data-wei"), await page.textContent(`${row} td.burned`)], [c.burned, `${c.burned_text} ETH`]);
    checkEq(`${label}: claimable`, await page.getAttribute(`${row} td.claimable`, "data-wei"), c.claimable);
  }
  const slashed = contributors.filter(([, c]) => c.slashed > 0);
  check("bounty page: the harmful contributor's slashes are shown", slashed.length > 0 &&
    (await page.locator("tr.submission.outcome-slashed").count()) === slashed.reduce((n, [, c]) => n + c.slashed, 0));
  checkEq("page: no uncaught errors", page.errors, []);
  await page.close();

  // --- a render that reads the chain slowly never replaces a later one: the bounty page reloads
  // with its node's answers held, the reader goes to the list meanwhile, then the answers come
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const slow = await newPage(context, `${pageUrl({ rpc, market })}#/bounty/${bid}`);
  let holding = false;
  const held = [];
  await slow.route((url) => url.href.startsWith(rpc), async (r) => {
    // held until released below; 20 s at most, so a list stuck behind a held answer fails the
    // check rather than the run
    if (holding) await new Promise((release) => { held.push(release); setTimeout(release, 20_000); });
    await r.continue().catch(() => {});
  });
  holding = true;
  await slow.click("#reload");
  for (let i = 0; i < 100 && held.length === 0; i++) await sleep(100);
  // past ethers' 250 ms request cache: else the list's first request can be the same pending one
  // as the reload's (the same eth_call within 250 ms) and waits for it (CI met that)
  await sleep(1000);
  holding = false;
  const heldCount = held.length;
  await slow.evaluate(() => { location.hash = "#/"; });
  await slow.waitForSelector("body[data-view=list][data-status=ready]", { timeout: 15_000 }).catch(() => {});
  const listFirst = (await slow.getAttribute("body", "data-view")) === "list";
  held.splice(0).forEach((release) => release());
  // the reload's render, released, has a few seconds to (wrongly) draw the bounty over the list
  await slow.waitForSelector("body[data-view=bounty]", { timeout: 8_000 }).catch(() => {});
  check("page: a slow render does not replace a later one (the view stays the list the address names)",
    heldCount > 0 && listFirst && (await slow.getAttribute("body", "data-view")) === "list"
      && (await slow.getAttribute("body", "data-status")) === "ready" && (await slow.locator("tr.bounty").count()) === round.bounties.length,
    `held ${heldCount} requests; the list drawn while they were held: ${listFirst}; view ${await slow.getAttribute("body", "data-view")}, `
      + `status ${await slow.getAttribute("body", "data-status")}`);
  checkEq("page: no uncaught errors after the dropped render", slow.errors, []);
  await slow.close();

  // --- privacy (issues 16, 17): each bounty's mode and largest epsilon from its brief, and the
  // statement of every merged update of each version, read with a committee member's disclosed
  // keys, through a gateway
  const pv = round.privacy;
  const pp = await newPage(context, `${pageUrl({ rpc, market, ipfs: pv.ipfs, keys: pv.keys })}#/bounty/${pv.bounty}`);
  await pp.waitForSelector("body[data-view=bounty][data-status=ready]", { timeout: 30_000 });
  checkEq("privacy: the bounty's mode", await pp.getAttribute("dd.mode", "data-mode"), pv.mode);
  checkEq("privacy: its largest epsilon", await pp.textContent("dd.max-epsilon"), pv.max_epsilon_text);
  // every merged update of each version (R5), not only the largest share's
  const rows = await pp.$$eval("tr.privacy-version", (els) => els.map((e) => `v${e.dataset.version} #${e.dataset.submission}`));
  checkEq("privacy: one statement per merged update of each version", rows, pv.rows.map((r) => `v${r.version} #${r.submission}`));
  check("privacy: a version that merged several updates shows each one's statement",
    pv.rows.length > new Set(pv.rows.map((r) => r.version)).size);
  checkEq("privacy: each merged update's statement, with the disclosed keys", await texts(pp, "tr.privacy-version td.statement"), pv.rows.map((r) => r.text));
  const sample = await pp.evaluate(async ({ blob, key }) => {
    const m = await import("./src/privacy.js");
    return m.statementText(await m.updateStatement(Uint8Array.from(blob.match(/../g), (b) => parseInt(b, 16)), key));
  }, pv.sample);
  checkEq("privacy: a DP statement (mechanism, unit, ε, δ, accountant) read from a sealed update and its key", sample, pv.sample.text);
  checkEq("privacy page: no uncaught errors", pp.errors, []);
  await pp.close();
  const ps = await newPage(context, `${pageUrl({ rpc, market, ipfs: pv.ipfs })}#/bounty/${pv.bounty}`);
  await ps.waitForSelector("body[data-view=bounty][data-status=ready]", { timeout: 30_000 });
  check("privacy: without the disclosed keys every version is sealed",
    (await texts(ps, "tr.privacy-version td.statement")).every((t) => t.startsWith("sealed for the committee")));
  await ps.close();
  const pe = await newPage(context, `${pageUrl({ rpc, market, ipfs: pv.ipfs })}#/bounty/${pv.encrypted.id}`);
  await pe.waitForSelector("body[data-view=bounty][data-status=ready]", { timeout: 30_000 });
  checkEq("privacy: the encrypted-weights bounty's mode", await pe.getAttribute("dd.mode", "data-mode"), pv.encrypted.mode);
  check("privacy: it names Paillier and the key size", ((await pe.textContent("dd.mode")) ?? "").includes("Paillier, 2048 bits"));
  checkEq("privacy: the encrypted-weights bounty requires no epsilon", await pe.textContent("dd.max-epsilon"), "not required");
  await pe.close();
  const pn = await newPage(context, `${pageUrl({ rpc, market })}#/bounty/${pv.bounty}`);
  await pn.waitForSelector("body[data-view=bounty][data-status=ready]", { timeout: 30_000 });
  check("privacy: without a gateway the page says what it could not read", (await pn.isVisible("p.privacy-unread")));
  await pn.close();

  // --- errors in plain words
  const dead = await freePort();
  const errorCases = [
    ["a node that does not answer", { rpc: `http://127.0.0.1:${dead}`, market }, "Cannot reach the Ethereum node at"],
    ["an address that is a contract but not a market", { rpc, market: round.not_market }, "is not a Fathom BountyMarket"],
    ["an address without code", { rpc, market: round.wallet.address }, "No contract at"],
    ["a malformed address", { rpc, market: "0x1234" }, "is not an Ethereum address"],
    ["no configuration", {}, "No market configured"],
  ];
  for (const [what, query, text] of errorCases) {
    const p = await newPage(context, pageUrl(query));
    const status = await p.getAttribute("body", "data-status");
    const shown = (await p.textContent("#error")) ?? "";
    check(`error for ${what}`, status === "error" && shown.includes(text) && (await p.isVisible("#error")), `status ${status}, text "${shown}"`);
    await p.close();
  }

  // --- configuration by deployment record (served by the test at deployments/browser.json)
  await context.route("**/deployments/*.json", (route) => {
    const name = new URL(route.request().url()).pathname.split("/").pop();
    const record = name === "wrong-chain.json" ? { ...round.deployment, chain_id: 1 } : round.deployment;
    return route.fulfill({ status: 200, contentType: "application/json", body: JSON.stringify(record) });
  });
  const dep = await newPage(context, pageUrl({ rpc, deployment: "deployments/browser.json" }));
  checkEq("deployment record: the list loads from contracts.BountyMarket", await attrs(dep, "tr.bounty", "data-id"), round.bounties.map((b) => String(b.id)));
  await dep.close();
  const wrong = await newPage(context, pageUrl({ rpc, deployment: "deployments/wrong-chain.json" }));
  check("deployment record: a chain id mismatch is reported", ((await wrong.textContent("#error")) ?? "").includes("is for chain 1"));
  await wrong.close();

  // --- the wallet and the claim
  const w = round.wallet;
  const provider = new ethers.JsonRpcProvider(rpc, undefined, { staticNetwork: true });
  const signer = new ethers.Wallet(w.private_key, provider);
  const sent = [];
  const wctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const spedUp = [];
  await wctx.exposeBinding("__fathomTestSign", async (_source, tx, speedUp) => {
    if (tx.from && ethers.getAddress(tx.from) !== signer.address) throw new Error(`the test wallet holds ${signer.address}, not ${tx.from}`);
    sent.push(tx);
    const populated = await signer.populateTransaction({ to: tx.to, data: tx.data, value: tx.value ?? 0n, gasLimit: tx.gas ?? tx.gasLimit });
    if (!speedUp) return { raw: await signer.signTransaction(populated) };
    // the wallet's "speed up": the same call and nonce at twice the fees (EIP-1559 fields: this
    // chain's base fee is 0, so ethers filled a legacy gas price); the page keeps the first hash
    const fees = (gwei) => ({ type: 2, gasPrice: null, maxFeePerGas: gwei * 10n ** 9n, maxPriorityFeePerGas: gwei * 10n ** 9n });
    const raw = await signer.signTransaction({ ...populated, ...fees(1n) });
    const faster = await signer.signTransaction({ ...populated, ...fees(2n) });
    const first = ethers.Transaction.from(raw);
    spedUp.push({ first: first.hash, mined: ethers.Transaction.from(faster).hash });
    return { raw: faster, shown: receipts.txJson(first) }; // as a node shows it pending
  });
  // receipts reported 1.5 s late: the claims must not depend on a later block (see walletInitScript)
  await wctx.addInitScript(walletInitScript, { rpc, account: w.address, lateReceipts: 1500 });
  const balanceBefore = await provider.getBalance(w.address);
  const wp = await newPage(wctx, `${pageUrl({ rpc, market })}#/bounty/${bid}`);
  checkEq("wallet: the page offers to connect", await wp.getAttribute("#wallet", "data-state"), "disconnected");
  await wp.click("#connect");
  await wp.waitForSelector("#wallet[data-state=connected]", { timeout: 15_000 });
  checkEq("wallet: connected account", await wp.getAttribute("#account", "data-address"), w.address);
  checkEq("wallet: claimable before (wei)", await wp.getAttribute("#claimable", "data-wei"), w.claimable);
  check("wallet: claimable is more than 0 and the Claim button is enabled", BigInt(w.claimable) > 0n && (await wp.isEnabled("#claim")));
  await wp.waitForSelector(`tr.contributor.you[data-address="${w.address}"]`, { timeout: 15_000 });
  check("wallet: the account's row is marked (you)", true);
  const blockBefore = await provider.getBlockNumber();
  await wp.click("#claim");
  await wp.waitForSelector("#wallet[data-state=claimed]", { timeout: 60_000 }).catch(() => {});
  const status = (await wp.textContent("#wallet-status")) ?? "";
  checkEq("claim: the wallet reports the claim", await wp.getAttribute("#wallet", "data-state"), "claimed");
  checkEq("claim: one eth_sendTransaction, claim(0x0) to the market",
    sent.map((t) => [ethers.getAddress(t.to), t.data]), [[market, new ethers.Interface(["function claim(address)"]).encodeFunctionData("claim", [ethers.ZeroAddress])]]);
  const calls = await wp.evaluate(() => window.__walletCalls);
  check("claim: the page asked the wallet for accounts (eth_requestAccounts)", calls.includes("eth_requestAccounts"));
  checkEq("claim: the amount claimed (Claimed event) is what was claimable", await wp.getAttribute("#wallet-status", "data-amount"), w.claimable);
  check("claim: the status names the amount", status.includes(`Claimed ${ethText(w.claimable)} ETH`), status);
  await wp.waitForSelector("body[data-status=ready]", { timeout: 30_000 });
  checkEq("claim: the page shows claimable 0", [await wp.getAttribute("#claimable", "data-wei"), await wp.textContent("#claimable")], ["0", "0 ETH"]);
  check("claim: the Claim button is disabled", !(await wp.isEnabled("#claim")));
  await wp.waitForFunction((a) => document.querySelector(`tr.contributor[data-address="${a}"] td.claimable`)?.dataset.wei === "0", w.address, { timeout: 15_000 })
    .catch(() => {});
  checkEq("claim: the contributors table shows claimable 0", await wp.getAttribute(`tr.contributor[data-address="${w.address}"] td.claimable`, "data-wei"), "0");
  const market_ = new ethers.Contract(market, JSON.parse(readFileSync(join(ROOT, "interfaces", "_abi", "BountyMarket.json"), "utf8")), provider);
  checkEq("chain: claimable(c0, ETH) is 0", String(await market_.claimable(w.address, ethers.ZeroAddress)), "0");
  const claimed = (await provider.getBlockNumber()) > blockBefore
    ? await market_.queryFilter(market_.filters.Claimed(w.address), blockBefore + 1, "latest") : [];
  checkEq("chain: one Claimed event for the amount", claimed.map((e) => String(e.args.amount)), [w.claimable]);
  if (claimed.length === 1) {
    const receipt = await provider.getTransactionReceipt(claimed[0].transactionHash);
    const fee = receipt.gasUsed * receipt.gasPrice;
    checkEq("chain: the account's balance grew by the claim less gas", String((await provider.getBalance(w.address)) - balanceBefore),
      String(BigInt(w.claimable) - fee));
  }

  // --- the wallet claims its one-off payout (rule P3): c0's second contribution was one-off
  checkEq("payouts: the round left c0 one one-off payout", w.payouts.length, 1);
  const payout = w.payouts[0];
  await wp.waitForSelector(`tr.payout[data-submission="${payout.submission}"]`, { timeout: 15_000 }).catch(() => {});
  checkEq("payouts: the page lists it with its amount (wei)",
    await wp.getAttribute(`tr.payout[data-submission="${payout.submission}"] td.amount`, "data-wei"), payout.amount);
  // the same account's wallet on another chain sees the payout but cannot claim it (its wallet
  // would send the claim to that chain)
  const xctx = await browser.newContext();
  await xctx.exposeBinding("__fathomTestSign", () => {
    throw new Error("the page must not send a transaction from a wallet on another chain");
  });
  await xctx.addInitScript(walletInitScript, { rpc, account: w.address, chainId: "0x1" });
  const xp = await newPage(xctx, `${pageUrl({ rpc, market })}#/bounty/${bid}`);
  await xp.click("#connect");
  const xbutton = `button.claim-payout[data-submission="${payout.submission}"]`;
  await xp.waitForSelector(xbutton, { timeout: 15_000 }).catch(() => {});
  check("payouts: a wallet on another chain sees the payout, its Claim button disabled",
    (await xp.$(xbutton)) !== null && !(await xp.isEnabled(xbutton)));
  await xctx.close();
  const sentBefore = sent.length;
  const payoutBlock = await provider.getBlockNumber();
  await wp.evaluate(() => { window.__fathomSpeedUpNext = true; }); // and the wallet speeds it up
  await wp.click(`button.claim-payout[data-submission="${payout.submission}"]`);
  await wp.waitForSelector("#wallet[data-state=payout-claimed]", { timeout: 60_000 }).catch(() => {});
  const payoutStatus = (await wp.textContent("#wallet-status")) ?? "";
  check("payouts: the wallet reports the claim", (await wp.getAttribute("#wallet", "data-state")) === "payout-claimed",
    `page shows ${JSON.stringify(await wp.getAttribute("#wallet", "data-state"))} with status ${JSON.stringify(payoutStatus)}`);
  checkEq("payouts: the amount claimed (PayoutClaimed event) is the payout", await wp.getAttribute("#wallet-status", "data-amount"), payout.amount);
  check("payouts: a claim sped up in the wallet is followed to the transaction mined (the status names it)",
    spedUp.length === 1 && payoutStatus.includes(`(tx ${spedUp[0].mined.slice(0, 6)}…${spedUp[0].mined.slice(-4)})`)
      && (await provider.getTransaction(spedUp[0].first)) === null, `${JSON.stringify(spedUp)}: ${payoutStatus}`);
  const iface = new ethers.Interface(["function claimPayout(address,uint256,uint256,uint256,bytes32[5])"]);
  const call = sent.slice(sentBefore).map((t) => iface.decodeFunctionData("claimPayout", t.data));
  checkEq("payouts: one claimPayout to the market, at the payout's position",
    call.map((a) => [String(a[1]), String(a[2]), String(a[3])]), [[String(bid), String(payout.position), payout.amount]]);
  // nothing mined since payoutBlock: anvil refuses a range that starts past its head
  const paid = (await provider.getBlockNumber()) > payoutBlock
    ? await market_.queryFilter(market_.filters.PayoutClaimed(w.address), payoutBlock + 1, "latest") : [];
  checkEq("chain: one PayoutClaimed event for the payout", paid.map((e) => [String(e.args.position), String(e.args.amount)]),
    [[String(payout.position), payout.amount]]);
  // the page re-renders after the claim; body[data-status=ready] may still be the render before it
  await wp.waitForSelector(`tr.payout.claimed[data-submission="${payout.submission}"]`, { timeout: 30_000 }).catch(() => {});
  await wp.waitForSelector("body[data-status=ready]", { timeout: 30_000 });
  check("payouts: the page shows it claimed, without a Claim button",
    (await wp.getAttribute(`tr.payout[data-submission="${payout.submission}"]`, "class"))?.includes("claimed")
      && (await wp.$(`button.claim-payout[data-submission="${payout.submission}"]`)) === null);
  checkEq("wallet page: no uncaught errors", wp.errors, []);

  // --- a wallet on another chain: the page says so and does not offer the claim
  const octx = await browser.newContext();
  await octx.exposeBinding("__fathomTestSign", () => {
    throw new Error("the page must not send a transaction from a wallet on another chain");
  });
  // another contributor, who still has something to claim: only the chain mismatch can disable the button
  const [other] = Object.entries(round.contributors).find(([a, c]) => a !== w.address && BigInt(c.claimable) > 0n);
  await octx.addInitScript(walletInitScript, { rpc, account: other, chainId: "0x1" });
  const op = await newPage(octx, pageUrl({ rpc, market }));
  await op.click("#connect");
  await op.waitForSelector("#wallet[data-state=connected]", { timeout: 15_000 });
  const warning = (await op.textContent("#wallet-status")) ?? "";
  check("wallet on another chain: warned and Claim disabled", warning.includes(`is on chain 1, this page reads chain ${round.chain_id}`) && !(await op.isEnabled("#claim")), warning);
  await octx.close();
  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await wp.screenshot({ path: SCREENSHOT, fullPage: true });
  say(`screenshots: ${SCREENSHOT.replace(ROOT + "/", "")} (bounty page after the claim), ${SCREENSHOT_LIST.replace(ROOT + "/", "")} (list)`);

  if (keep) {
    say(`--keep: ${pageUrl({ rpc, market })} is up; Ctrl-C stops it`);
    await browser.close();
    browser = null;
    await new Promise((resolve) => {
      stopRequested = resolve;
    });
  }
}

function ethText(wei) {
  // the same rule as the page and demo_round.py: 6 decimals, half-up, no trailing zeros
  const v = BigInt(wei);
  const q = (v + 5n * 10n ** 11n) / 10n ** 12n;
  const frac = (q % 10n ** 6n).toString().padStart(6, "0").replace(/0+$/, "");
  return `${q / 10n ** 6n}${frac ? "." + frac : ""}`;
}

// Ctrl-C or SIGTERM: stop the chain, the oracles and the server before leaving.
let stopRequested = null;
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    if (stopRequested) return stopRequested();
    if (stopping) return;
    stopping = true;
    console.error(`browser: ${sig}: stopping`);
    await stopAll();
    const { passed, failed } = summary();
    console.log(`browser: ${passed} checks passed, ${failed + 1} failed`);
    process.exit(130);
  });
}

const guard = setTimeout(async () => {
  console.error(`browser: error: gave up after ${TOTAL_TIMEOUT_MS / 1000} s`);
  await stopAll();
  const { passed, failed } = summary();
  console.log(`browser: ${passed} checks passed, ${failed + 1} failed`);
  process.exit(1);
}, keep ? 2 ** 31 - 1 : TOTAL_TIMEOUT_MS);

let error = null;
try {
  await main();
} catch (e) {
  error = e;
}
await stopAll();
clearTimeout(guard);
const { failed, line } = summary();
if (error) {
  console.error(`browser: error: ${error.message}`);
  if (workdir) console.error(`browser: the round's files (oracle logs) are in ${workdir}`);
} else if (workdir && !failed) {
  rmSync(workdir, { recursive: true, force: true });
}
say(`took ${((Date.now() - started) / 1000).toFixed(0)} s`);
const { passed } = summary();
console.log(error ? `browser: ${passed} checks passed, ${failed + 1} failed` : line);
process.exit(error || failed ? 1 : 0);
