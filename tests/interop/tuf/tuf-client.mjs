#!/usr/bin/env node
// tuf-client.mjs: the independent TUF client of tether's interoperability
// test. The end-to-end tests run it against a repository that tether's own
// tools built, to show that a third-party implementation (tuf-js, the client
// npm itself uses) accepts that repository and refuses it once tampered with.
//
//   node tuf-client.mjs --metadata-url URL --targets-url URL --root FILE \
//       --cache DIR --target NAME --out FILE
//
// FILE is the trusted root.json, copied into DIR as root.json when DIR has
// none; DIR then keeps the metadata tuf-js has verified, as a device would.
// The client runs the TUF client workflow (refresh, then the target's info
// through the delegations), downloads the target, checks its length and
// hashes and copies it to --out. It prints one JSON line on stdout:
//   {"ok":true,"target":NAME,"length":N,"sha256":HEX}            exit 0
//   {"ok":false,"error":"ErrorClass: message"}                    exit 1
// and a usage line on stderr with exit 2 for bad arguments.
//
// HTTPS with a private CA: tuf-js fetches with make-fetch-happen, whose agent
// leaves `ca` unset, so node's default trust store applies, and node adds the
// certificates of the file named by NODE_EXTRA_CA_CERTS to it at start-up:
//   NODE_EXTRA_CA_CERTS=/path/ca.pem node tuf-client.mjs ...
// The proxy variables (https_proxy, ...) are dropped before tuf-js loads, so
// that the client only ever connects to the URLs it is given.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node tuf-client.mjs --metadata-url URL --targets-url URL ' +
  '--root FILE --cache DIR --target NAME --out FILE';
const OPTIONS = ['metadata-url', 'targets-url', 'root', 'cache', 'target', 'out'];

class TargetNotFoundError extends Error {}

function usage(why) {
  process.stderr.write(`tuf-client: ${why}\n${USAGE}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: Object.fromEntries(OPTIONS.map((o) => [o, { type: 'string' }])),
  }).values;
} catch (e) {
  usage(e.message);
}
for (const o of OPTIONS) {
  if (!args[o]) usage(`--${o} is required`);
}

for (const k of Object.keys(process.env)) {
  if (/^(https?_proxy|proxy|no_proxy)$/i.test(k)) delete process.env[k];
}
const { Updater } = await import('tuf-js');

let tmp;
try {
  fs.mkdirSync(args.cache, { recursive: true });
  const trusted = path.join(args.cache, 'root.json');
  if (!fs.existsSync(trusted)) fs.copyFileSync(args.root, trusted);

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tuf-client-'));
  const updater = new Updater({
    metadataBaseUrl: args['metadata-url'],
    targetBaseUrl: args['targets-url'],
    metadataDir: args.cache,
    targetDir: tmp,
  });
  await updater.refresh();
  const info = await updater.getTargetInfo(args.target);
  if (!info) throw new TargetNotFoundError(`no target named ${args.target}`);
  const file = await updater.downloadTarget(info);

  const data = fs.readFileSync(file);
  fs.copyFileSync(file, args.out);
  console.log(JSON.stringify({
    ok: true,
    target: args.target,
    length: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
  }));
  process.exitCode = 0;
} catch (e) {
  const name = e?.constructor?.name ?? 'Error';
  const status = e?.statusCode ? ` (HTTP ${e.statusCode})` : '';
  console.log(JSON.stringify({ ok: false, error: `${name}: ${e?.message ?? e}${status}` }));
  process.exitCode = 1;
} finally {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}
// make-fetch-happen keeps its sockets alive; do not wait for them.
process.exit();
