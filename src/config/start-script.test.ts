import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { IngotError } from "../errors.ts";
import { type BinFile, formatArgv, nodeScriptOf, parseStartScript, startArgv } from "./start-script.ts";

const NODE = "#!/usr/bin/env node";
const bins = new Map<string, BinFile>([
  ["fastify", { path: "node_modules/fastify-cli/cli.js", shebang: NODE }],
  ["next", { path: "node_modules/next/dist/bin/next", shebang: "#!/usr/bin/env -S node --no-warnings" }],
  ["tsx", { path: "node_modules/tsx/dist/cli.mjs" }],
  ["esbuild", { path: "node_modules/esbuild/bin/esbuild", shebang: "#!/bin/sh" }],
  ["cross-env", { path: "node_modules/cross-env/src/bin/cross-env.js", shebang: NODE }],
]);

/** The argv and baked env for scripts, as the build would derive them. */
function derive(scripts: Record<string, string>, name?: string): { argv: string[]; env: Record<string, string>; chain: string[] } {
  const start = parseStartScript(scripts, name);
  return { argv: startArgv(start, bins), env: start.env, chain: start.chain };
}

function refusal(scripts: Record<string, string>, devDependencies: string[] = []): IngotError {
  try {
    startArgv(parseStartScript(scripts), bins, devDependencies);
  } catch (error) {
    assert.ok(error instanceof IngotError, String(error));
    return error;
  }
  assert.fail(`expected ${JSON.stringify(scripts)} to be refused`);
}

test("a plain node start script runs as it is, as today", () => {
  assert.deepEqual(derive({ start: "node dist/index.js" }), { argv: ["node", "dist/index.js"], env: {}, chain: ["scripts.start: node dist/index.js"] });
});

test("express-generator's start script runs its extension-less bin/www", () => {
  assert.deepEqual(derive({ start: "node ./bin/www" }).argv, ["node", "./bin/www"]);
});

test("a dependency's bin runs with node from its package's bin file, with its arguments", () => {
  assert.deepEqual(derive({ start: "fastify start -l info app.js" }).argv, ["node", "node_modules/fastify-cli/cli.js", "start", "-l", "info", "app.js"]);
  assert.deepEqual(derive({ start: "fastify start -a 0.0.0.0 -l info app.js" }).argv.slice(2), ["start", "-a", "0.0.0.0", "-l", "info", "app.js"]);
  assert.deepEqual(derive({ start: "next start" }).argv, ["node", "node_modules/next/dist/bin/next", "start"], "a #!/usr/bin/env -S node … line is node too");
  assert.deepEqual(derive({ start: "tsx src/server.ts" }).argv, ["node", "node_modules/tsx/dist/cli.mjs", "src/server.ts"], "a .mjs bin without #! runs with node");
  assert.deepEqual(derive({ start: "./node_modules/.bin/fastify start app.js" }).argv, ["node", "node_modules/fastify-cli/cli.js", "start", "app.js"]);
  assert.deepEqual(derive({ start: "npx fastify start app.js" }).argv, ["node", "node_modules/fastify-cli/cli.js", "start", "app.js"]);
});

test("VAR=value prefixes become baked variables, also after env and cross-env", () => {
  assert.deepEqual(derive({ start: "NODE_ENV=production node dist/index.js" }), {
    argv: ["node", "dist/index.js"], env: { NODE_ENV: "production" }, chain: ["scripts.start: NODE_ENV=production node dist/index.js"],
  });
  assert.deepEqual(derive({ start: "NODE_ENV=production TZ=UTC fastify start app.js" }).env, { NODE_ENV: "production", TZ: "UTC" });
  assert.deepEqual(derive({ start: "cross-env NODE_ENV=production node server.js" }), { argv: ["node", "server.js"], env: { NODE_ENV: "production" }, chain: ["scripts.start: cross-env NODE_ENV=production node server.js"] });
  assert.deepEqual(derive({ start: "env LOG_LEVEL=debug node server.js" }).env, { LOG_LEVEL: "debug" });
  assert.deepEqual(derive({ start: `NODE_OPTIONS="--max-old-space-size=4096 --enable-source-maps" node server.js` }).env, { NODE_OPTIONS: "--max-old-space-size=4096 --enable-source-maps" });
  assert.deepEqual(derive({ start: "GREETING= node server.js" }).env, { GREETING: "" }, "an empty value is a value");
  assert.deepEqual(derive({ start: "exec node server.js" }).argv, ["node", "server.js"]);
});

test("node's flags are kept before the script", () => {
  assert.deepEqual(derive({ start: "node --enable-source-maps dist/main.js" }).argv, ["node", "--enable-source-maps", "dist/main.js"]);
  assert.deepEqual(derive({ start: "node --max-old-space-size=4096 -r dotenv/config server.js --port 80" }).argv, ["node", "--max-old-space-size=4096", "-r", "dotenv/config", "server.js", "--port", "80"]);
});

test("npm run, npm start, run-script, yarn and pnpm chains are followed, with their env and arguments", () => {
  assert.deepEqual(derive({ start: "npm run serve", serve: "node dist/server.js" }), {
    argv: ["node", "dist/server.js"], env: {}, chain: ["scripts.start: npm run serve", "scripts.serve: node dist/server.js"],
  });
  assert.deepEqual(derive({ start: "npm run start:prod", "start:prod": "NODE_ENV=production node dist/main" }).env, { NODE_ENV: "production" });
  assert.deepEqual(derive({ start: "NODE_ENV=production npm run serve -- --port 8080", serve: "LOG=1 node server.js" }), {
    argv: ["node", "server.js", "--port", "8080"], env: { NODE_ENV: "production", LOG: "1" },
    chain: ["scripts.start: NODE_ENV=production npm run serve -- --port 8080", "scripts.serve: LOG=1 node server.js"],
  });
  assert.deepEqual(derive({ prod: "npm start", start: "fastify start app.js" }, "prod").argv.slice(1), ["node_modules/fastify-cli/cli.js", "start", "app.js"]);
  assert.deepEqual(derive({ start: "npm run-script serve", serve: "node a.js" }).argv, ["node", "a.js"]);
  assert.deepEqual(derive({ start: "npm -s run serve", serve: "node a.js" }).argv, ["node", "a.js"]);
  assert.deepEqual(derive({ start: "yarn serve --port 1", serve: "node a.js" }).argv, ["node", "a.js", "--port", "1"]);
  assert.deepEqual(derive({ start: "pnpm run serve", serve: "node a.js" }).argv, ["node", "a.js"]);
  assert.deepEqual(derive({ start: "npm run a", a: "npm run b", b: "npm run c", c: "node c.js" }).chain.length, 4);
  assert.deepEqual(derive({ start: "A=outer B=outer npm run inner", inner: "B=inner node a.js" }).env, { A: "outer", B: "inner" }, "the inner script's assignment wins");
});

test("quoted words are read plainly, and an empty quoted argument stays an argument", () => {
  assert.deepEqual(derive({ start: `node 'my server.js' "--title=a b" ''` }).argv, ["node", "my server.js", "--title=a b", ""]);
  assert.deepEqual(derive({ start: "node\tserver.js   --x" }).argv, ["node", "server.js", "--x"]);
});

test("a script that needs a shell is refused, quoted, with the hint to move the build part to build and give command:", () => {
  const cases: [string, RegExp][] = [
    ["npm run build && node dist/index.js", /more than one command/],
    ["node a.js || node b.js", /more than one command/],
    ["node migrate.js; node server.js", /more than one command/],
    ["node server.js &", /more than one command/],
    ["node server.js | pino-pretty", /pipes/],
    ["node server.js > out.log", /redirects/],
    ["node server.js 2>&1", /more than one command|redirects/],
    ["node $ENTRY", /expands variables/],
    ["node dist/index.js --port=${PORT}", /expands variables/],
    ["node `cat entry`", /expands variables or commands/],
    ['node "$HOME/app.js"', /expands variables or escapes inside double quotes/],
    ["node dist/*.js", /glob/],
    ["cd dist && node index.js", /more than one command/],
    ["cd dist", /cd is a shell command/],
    ["sh -c 'node a.js'", /sh is a shell command/],
    ["node server.js # comment", /comment/],
    ["node ~/app.js", /expands ~/],
    ["node 'unclosed", /unclosed ' quote/],
    ["node a\\ b.js", /escapes/],
    ["(node a.js)", /groups/],
    ["NODE_ENV=production", /runs no program/],
    ["node", /node without a script/],
    ["./server.js", /runs the file \.\/server\.js directly/],
    ["npm install && node a.js", /more than one command/],
    ["npm ci", /npm ci is not a script run/],
    ["npm run --workspace api start", /npm run --workspace is an option/],
    ["INGOT_ENV=prod node a.js", /INGOT_ENV, which ingot sets itself/],
    ["node a.js\0--inspect", /NUL byte/],
  ];
  for (const [script, reason] of cases) {
    const error = refusal({ start: script });
    assert.equal(error.code, "start-script-shell", script);
    assert.match(error.message, reason, script);
    assert.ok(error.message.includes(JSON.stringify(script)), `the script is quoted: ${error.message}`);
    assert.ok(error.message.startsWith("Cannot start the app from scripts.start as "), error.message);
  }
  const hint = refusal({ start: "npm run build && node dist/index.js" }).hint!;
  assert.match(hint, /move the build part to "build" in scripts/);
  assert.match(hint, /give command: \[node, dist\/index\.js\] in ingot\.yaml/, "the hint's command is the script's last plain command");
  assert.match(refusal({ start: "tsc && NODE_ENV=production node dist/index.js" }).hint!, /give command: \[node, dist\/index\.js\] and env: \{NODE_ENV: "production"\} in ingot\.yaml/);
  assert.match(refusal({ start: "npm run serve", serve: "tsc && node out/a.js" }).message, /^Cannot start the app from scripts\.serve as/, "the refusal names the script that needs the shell");
});

test("a missing script, a loop of scripts and a bin no production dependency provides are refused with what to do", () => {
  const missing = refusal({ start: "npm run serve" });
  assert.equal(missing.code, "start-script-missing");
  assert.match(missing.message, /scripts\.start runs npm run serve, and package\.json has no scripts\.serve/);
  const loop = refusal({ start: "npm run a", a: "npm start" });
  assert.equal(loop.code, "start-script-cycle");
  assert.match(loop.message, /scripts\.start → scripts\.a → scripts\.start/);
  const bin = refusal({ start: "nodemon server.js" });
  assert.equal(bin.code, "start-bin-missing");
  assert.match(bin.message, /as scripts\.start \("nodemon server\.js"\) runs nodemon, which no production dependency provides \(node_modules\/\.bin\/nodemon\)/);
  assert.match(bin.hint!, /as a dependency, not a devDependency/);
  assert.match(refusal({ start: "nodemon server.js" }, ["nodemon"]).hint!, /Move nodemon from devDependencies to dependencies/);
  const shell = refusal({ start: "esbuild --serve" });
  assert.equal(shell.code, "start-bin-not-node");
  assert.match(shell.message, /node_modules\/esbuild\/bin\/esbuild is not a Node\.js script \(#!\/bin\/sh\)/);
});

test("nodeScriptOf finds the script after node's flags", () => {
  assert.equal(nodeScriptOf(["node", "server.js"]), "server.js");
  assert.equal(nodeScriptOf(["node", "--enable-source-maps", "-r", "dotenv/config", "--import=tsx", "dist/main.js", "-x"]), "dist/main.js");
  assert.equal(nodeScriptOf(["node", "--", "-weird.js"]), "-weird.js");
  assert.equal(nodeScriptOf(["node", "-e", "1"]), undefined);
  assert.equal(nodeScriptOf(["node", "--enable-source-maps"]), undefined);
});

test("formatArgv quotes only what needs it", () => {
  assert.equal(formatArgv(["redis-server", "--save", ""]), "redis-server --save ''");
  assert.equal(formatArgv(["node", "my app.js", "it's"]), "node 'my app.js' 'it'\\''s'");
  assert.equal(formatArgv(["node", "--max-old-space-size=4096", "@scope/x"]), "node --max-old-space-size=4096 @scope/x");
});

test("any script is an argv without NUL bytes and with variables ingot may set, or an IngotError with a code", () => {
  const word = fc.oneof(
    fc.constantFrom("node", "npm", "run", "start", "serve", "yarn", "pnpm", "npx", "env", "cross-env", "exec", "fastify", "--", "-r", "--enable-source-maps",
      "NODE_ENV=production", "INGOT_ENV=x", "A=", "'a b'", '"c"', "''", "&&", "|", ";", "$X", "*", "cd", "./x", "node_modules/.bin/fastify", "\0"),
    fc.string({ maxLength: 6 }),
  );
  const script = fc.array(word, { maxLength: 6 }).map((words) => words.join(" "));
  fc.assert(fc.property(fc.dictionary(fc.constantFrom("start", "serve", "build"), script), (scripts) => {
    try {
      const start = parseStartScript({ start: "npm run serve", ...scripts });
      const argv = startArgv(start, bins);
      assert.ok(argv.length >= 2 && argv[0] === "node" && argv.every((arg) => !arg.includes("\0")), JSON.stringify(argv));
      for (const [name, value] of Object.entries(start.env)) assert.ok(/^[A-Za-z_]\w*$/.test(name) && !name.startsWith("INGOT_") && !value.includes("\0"), name);
    } catch (error) {
      assert.ok(error instanceof IngotError && error.code.length > 0, String(error));
    }
  }), { numRuns: 500 });
});
