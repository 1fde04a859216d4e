#!/usr/bin/env node
// Builds the static page's two generated folders, so that frontend/ is served as is and works offline:
//   frontend/vendor/ethers.min.js   <- node_modules/ethers/dist/ethers.min.js (ES module; version checked
//                                      against the pin in package.json)
//   frontend/abi/*.json             <- interfaces/_abi/*.json (the contracts' exported ABIs, `make abi`)
// Writes only what changed. Usage: node frontend/build.mjs [--check]  (--check: fail if out of date)
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const check = process.argv.includes("--check");
const die = (msg) => {
  console.error(`frontend: error: ${msg}`);
  process.exit(1);
};

const pinned = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies?.ethers;
const ethersDir = join(root, "node_modules", "ethers");
if (!existsSync(join(ethersDir, "package.json"))) die("node_modules/ethers is missing: run `npm ci` (make setup).");
const installed = JSON.parse(readFileSync(join(ethersDir, "package.json"), "utf8")).version;
if (pinned && installed !== pinned) die(`node_modules has ethers ${installed}, package.json pins ${pinned}: run \`npm ci\`.`);

const copies = [[join(ethersDir, "dist", "ethers.min.js"), join(here, "vendor", "ethers.min.js")]];
const abiDir = join(root, "interfaces", "_abi");
if (!existsSync(abiDir)) die("interfaces/_abi is missing: run `make abi`.");
for (const name of readdirSync(abiDir).filter((n) => n.endsWith(".json")).sort()) {
  copies.push([join(abiDir, name), join(here, "abi", name)]);
}
if (!copies.some(([src]) => src.endsWith("BountyMarket.json"))) die("interfaces/_abi/BountyMarket.json is missing: run `make abi`.");

let changed = 0;
for (const [src, dst] of copies) {
  const data = readFileSync(src);
  if (existsSync(dst) && readFileSync(dst).equals(data)) continue;
  changed += 1;
  if (check) {
    console.error(`frontend: ${relative(root, dst)} is out of date with ${relative(root, src)}`);
    continue;
  }
  mkdirSync(dirname(dst), { recursive: true });
  writeFileSync(dst, data);
}
if (check && changed) die("run `node frontend/build.mjs`.");
console.log(`frontend: ethers ${installed} and ${copies.length - 1} ABIs in frontend/vendor and frontend/abi` +
  (check ? " are up to date" : changed ? ` (${changed} file(s) written)` : " (up to date)"));
