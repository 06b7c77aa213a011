// The contract as other tools read it (run by .ci/run, with NODE_PATH set
// to examples/node_modules): both JSON Schema documents compile in ajv's
// strict mode and accept the golden records (real output), and
// @asyncapi/parser reads the AsyncAPI document with no error.
// Usage: node .ci/contract.cjs ASYNCAPI_JSON
"use strict";
const fs = require("fs");
const path = require("path");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats").default;
const { Parser } = require("@asyncapi/parser");

const root = path.resolve(__dirname, "..");
let failed = false;
const fail = (msg) => { console.error("FAIL " + msg); failed = true; };

function goldenValue(name) {
  const text = fs.readFileSync(path.join(root, "schema/testdata", name + ".golden"), "utf8");
  return JSON.parse(text.slice(text.indexOf("\n\n") + 2));
}

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
for (const [file, goldens] of [
  ["schema/events.v1.schema.json", ["dnis_window", "dnis_gone", "window_closed"]],
  ["schema/dead_letter.v1.schema.json", ["dead_letter"]],
]) {
  let validate;
  try {
    validate = ajv.compile(JSON.parse(fs.readFileSync(path.join(root, file), "utf8")));
  } catch (e) {
    fail(`${file} does not compile in ajv's strict mode: ${e.message}`);
    continue;
  }
  for (const name of goldens) {
    if (!validate(goldenValue(name))) fail(`${name}.golden breaks ${file}: ${ajv.errorsText(validate.errors)}`);
  }
  console.log(`ok   ${file}: compiles in strict mode, accepts ${goldens.join(", ")}`);
}

(async () => {
  const file = process.argv[2];
  const { document, diagnostics } = await new Parser().parse(fs.readFileSync(file, "utf8"));
  for (const d of diagnostics) {
    // severity 0 is an error; 1-3 warnings, information and hints.
    (d.severity === 0 ? fail : console.log)(`asyncapi ${d.code}: ${d.message} at ${JSON.stringify(d.path)}`);
  }
  if (!document) fail("@asyncapi/parser did not return a document");
  else console.log(`ok   AsyncAPI ${document.version()}: ${document.channels().length} channels, ${document.allMessages().length} messages`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
