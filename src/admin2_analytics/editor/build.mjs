// Build (or, with --check, rebuild and compare) the console's editor bundle.
// The bundle's first line records a SHA-256 over the lockfile and the sources, so a test
// without Node can tell that the committed bundle was built from what is committed.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const OUT = "../admin2_analytics/static/admin2_analytics/console-editor.js";
const INPUTS = ["package.json", "package-lock.json", "build.mjs",
  ...readdirSync("src").sort().map((name) => join("src", name))];

function sourcesHash() {
  const hash = createHash("sha256");
  for (const path of INPUTS) {
    hash.update(path + "\0");
    hash.update(readFileSync(path));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const result = await build({
  entryPoints: ["src/console.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  write: false,
  logLevel: "warning",
});
const body = result.outputFiles[0].text;
const text = `/* admin2 console editor; sources sha256 ${sourcesHash()}; built by src/admin2_analytics/editor/build.mjs */\n${body}`;

if (process.argv.includes("--check")) {
  const committed = readFileSync(OUT, "utf8");
  if (committed !== text) {
    console.error(`${OUT} differs from a fresh build: run \`just editor-bundle\` and commit it`);
    process.exit(1);
  }
  console.log(`${OUT} matches a fresh build`);
} else {
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT} (${text.length} bytes)`);
}
