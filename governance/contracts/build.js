// Rebuilds governance/contracts/artifacts/*.json from src/*.sol with solc-js (no binary downloads).
// Usage: cd governance/contracts && npm ci && node build.js
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const here = __dirname;
const srcDir = path.join(here, "src");
const outDir = path.join(here, "artifacts");
const sources = {};
// Library contracts compiled through our sources' imports whose artifacts are written too (deployed as they are).
const LIBRARY = { "@openzeppelin/contracts/governance/TimelockController.sol": ["TimelockController"] };
for (const name of fs.readdirSync(srcDir).filter((n) => n.endsWith(".sol")).sort()) {
  sources[name] = { content: fs.readFileSync(path.join(srcDir, name), "utf8") };
}

function findImports(importPath) {
  const candidates = [path.join(here, "node_modules", importPath), path.join(srcDir, importPath)];
  for (const p of candidates) {
    if (fs.existsSync(p)) return { contents: fs.readFileSync(p, "utf8") };
  }
  return { error: "not found: " + importPath };
}

const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "cancun",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

fs.mkdirSync(outDir, { recursive: true });
const ozVersion = require(path.join(here, "node_modules/@openzeppelin/contracts/package.json")).version;
const wanted = Object.keys(sources).map((name) => [name, "src/" + name, null]);
for (const [name, contracts] of Object.entries(LIBRARY)) wanted.push([name, name, contracts]);
for (const [name, sourceName, only] of wanted) {
  if (!output.contracts[name]) {
    console.error("no compiler output for " + name + ": is it imported by a file in src/?");
    process.exit(1);
  }
  for (const [contractName, c] of Object.entries(output.contracts[name])) {
    if (only && !only.includes(contractName)) continue;
    const artifact = {
      contractName,
      sourceName,
      compiler: { name: "solc-js", version: solc.version(), evmVersion: "cancun", optimizerRuns: 200 },
      openzeppelin: ozVersion,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    fs.writeFileSync(path.join(outDir, contractName + ".json"), JSON.stringify(artifact, null, 1) + "\n");
    console.log("wrote artifacts/" + contractName + ".json (" + c.evm.bytecode.object.length / 2 + " bytes)");
  }
}
// The Governor entries ingestion and governance share, copied into ingest/governor_abi.json.
require("./governor_abi.js");
