#!/usr/bin/env node
// A `solc` executable over npm's solcjs, for tools that expect the native binary
// (py-solc-x / brownie, forge, slither). It answers the two things they ask:
//   solc --version                 -> "Version: 0.8.x+commit.…" (cached by the
//                                     bash wrapper in ~/.solcx, so brownie's repeated
//                                     version probes never load the 8 MB compiler)
//   solc --standard-json [opts]    -> compile the JSON read from stdin
// Imports not given inline are read from disk, relative to --base-path, each
// --include-path, and the working directory, and only below --allow-paths (or
// those roots) so a source cannot pull in arbitrary files.
"use strict";
const fs = require("fs");
const path = require("path");

const args = process.argv.slice(2);
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));

function usage(code) {
  process.stderr.write(
    "usage: solc --version | solc --standard-json [--base-path P] [--include-path P] [--allow-paths A,B]\n" +
      "(Fathom's shim over npm solcjs; only standard JSON is supported)\n"
  );
  process.exitCode = code;
}

function optionValues(name) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name && i + 1 < args.length) out.push(args[i + 1]);
    else if (args[i].startsWith(name + "=")) out.push(args[i].slice(name.length + 1));
  }
  return out;
}

if (args.includes("--version") || args.includes("-v")) {
  process.stdout.write(
    "solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n"
  );
} else if (args.includes("--standard-json")) {
  const roots = [process.cwd(), ...optionValues("--base-path"), ...optionValues("--include-path")]
    .map((p) => path.resolve(p));
  const allowed = roots.concat(
    optionValues("--allow-paths").flatMap((v) => v.split(",")).filter(Boolean).map((p) => path.resolve(p))
  );
  const isAllowed = (file) => allowed.some((a) => file === a || file.startsWith(a + path.sep));
  const findImports = (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const file of candidates) {
      const resolved = path.resolve(file);
      if (isAllowed(resolved) && fs.existsSync(resolved)) {
        return { contents: fs.readFileSync(resolved, "utf8") };
      }
    }
    return { error: "File not found (Fathom solc shim searched " + roots.join(", ") + "): " + importPath };
  };
  const chunks = [];
  process.stdin.on("data", (c) => chunks.push(c));
  process.stdin.on("end", () => {
    const input = Buffer.concat(chunks).toString("utf8");
    const output = solc.compile(input, { import: findImports });
    // write() then let node exit on its own: the pipe is drained before exit,
    // so large outputs are never truncated at the 64 KiB pipe buffer.
    process.stdout.write(output + "\n");
  });
} else {
  usage(args.length ? 2 : 1);
}
