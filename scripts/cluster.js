#!/usr/bin/env node
// The scaling demo without Docker: three demo nodes on ports 3001–3003 sharing
// one RabbitMQ, and the box office worker beside them. Ctrl-C stops them all.
//
//   npm run cluster                          (AMQP_URL defaults to the local broker)
//   NODES=5 BASE_PORT=4001 npm run cluster
//   DUPLEX_SECRET=… npm run cluster          (a secret of your own; else a random one, printed)
//   npm run cluster -- --reset               (forget the shared state an earlier run left on the broker, then start)
//   npm run cluster -- --reset-only          (forget it and exit)
//
// It prints the secret and the command that starts one more node joining the
// cluster. The state stream, its snapshot and the reaper queue are durable:
// they outlive the nodes, so a later run under the same prefix (AMQP_PREFIX,
// default "duplex") resumes the party where it was; --reset deletes them, with
// the nodes' inboxes and the exchange, and refuses while a node still uses them.
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { join, relative } = require('node:path');

const root = join(__dirname, '..');
const dist = join(root, 'dist');
const main = join(dist, 'apps', 'demo', 'src', 'main.js');
const worker = join(dist, 'apps', 'box-office', 'src', 'main.js');

const usage = `usage: node scripts/cluster.js [--reset | --reset-only]   (npm run cluster -- --reset)
  --reset        delete this cluster's topology (state stream, snapshot, reaper queue,
                 node inboxes, exchange) from the broker, then start the nodes
  --reset-only   delete it and exit
env: NODES (3), BASE_PORT (3001), AMQP_URL (amqp://guest:guest@127.0.0.1:5672),
     AMQP_PREFIX (duplex), DUPLEX_SECRET (random, printed)`;

const args = process.argv.slice(2);
for (const arg of args) {
  if (arg === '--help' || arg === '-h') {
    console.log(usage);
    process.exit(0);
  }
  if (arg !== '--reset' && arg !== '--reset-only') {
    console.error(`unknown argument ${arg}\n${usage}`);
    process.exit(2);
  }
}
const resetOnly = args.includes('--reset-only');
const reset = resetOnly || args.includes('--reset');

const amqpUrl = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const prefix = process.env.AMQP_PREFIX || 'duplex';
const count = Number(process.env.NODES ?? 3);
const basePort = Number(process.env.BASE_PORT ?? 3001);
if (!Number.isInteger(count) || count < 1) fail(`NODES must be a whole number of at least 1, not ${process.env.NODES}`);
if (!Number.isInteger(basePort) || basePort < 1 || basePort + count > 65536) fail(`BASE_PORT ${process.env.BASE_PORT} leaves no room for ${count} ports`);
// Nodes must share the secret, or a session cannot resume on another node.
const secret = process.env.DUPLEX_SECRET || randomBytes(24).toString('hex');
const secretGiven = Boolean(process.env.DUPLEX_SECRET);
const nodeId = (i) => `node-${i}`;
const masked = amqpUrl.replace(/\/\/[^@/]*@/g, '//***@');

function fail(message) {
  console.error(`cluster: ${message}`);
  process.exit(1);
}

/** The library's own names for the topology (one place: amqp-topology.ts), from the build. */
function library() {
  try {
    const { topology, removeTopology, REAPER_QUEUE } = require('@nest-duplex/server/internal');
    return { topology, removeTopology, REAPER_QUEUE };
  } catch (error) {
    fail(`the build is missing (${error.message.split('\n')[0]}): run npm run build first, or npm run cluster, which builds`);
  }
}

/** Consumers of a queue, or null when it does not exist (a failed check closes its channel, hence one each). */
async function consumers(connection, queue) {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    return (await channel.checkQueue(queue)).consumerCount;
  } catch {
    return null;
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** Deletes what runs of this demo leave under the prefix; refuses while any node of it is still connected. */
async function resetTopology() {
  const { topology, removeTopology, REAPER_QUEUE } = library();
  const amqp = require('amqplib');
  let connection;
  try {
    connection = await amqp.connect(amqpUrl.split(',')[0].trim());
  } catch (error) {
    fail(`cannot reach RabbitMQ at ${masked} (${error.message}); set AMQP_URL`);
  }
  connection.on('error', () => undefined);
  const inboxes = Array.from({ length: count + 1 }, (_, i) => topology.nodeQueue(prefix, nodeId(i + 1)));
  try {
    const watched = [topology.jobQueue(prefix, REAPER_QUEUE), topology.stateStream(prefix), ...inboxes];
    const inUse = [];
    for (const queue of watched) {
      const n = await consumers(connection, queue);
      if (n) inUse.push(`${queue} (${n} consumer${n === 1 ? '' : 's'})`);
    }
    if (inUse.length > 0) {
      fail(`nodes of prefix "${prefix}" are still running (${inUse.join(', ')}): stop them first; nothing was deleted`);
    }
    const channel = await connection.createChannel();
    for (const queue of inboxes) await channel.deleteQueue(queue);
    for (const queue of inboxes) await channel.deleteExchange(topology.inboxMarker(queue));
    await channel.close();
  } finally {
    await connection.close().catch(() => undefined);
  }
  // The exchange, the reaper queue, the state stream and its snapshot.
  await removeTopology(amqpUrl, prefix, [REAPER_QUEUE]);
  console.log(
    `Reset: deleted ${topology.stateStream(prefix)}, ${topology.stateSnapshots(prefix)}, ${topology.jobQueue(prefix, REAPER_QUEUE)}, ` +
      `${topology.exchange(prefix)} and the inboxes ${prefix}.node.node-1…node-${count + 1} on ${masked}; the next start is an empty party.`,
  );
  console.log('  (inboxes of other node ids expire by themselves a minute after their node stops.)');
}

/** A value as a POSIX shell word. */
function shellWord(value) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Settings the nodes run with (timings every node of a cluster should share, log format): passed on to the joining node, when set. */
const SHARED_ENV = ['SESSION_GRACE_MS', 'CALLBACK_TIMEOUT_MS', 'HEARTBEAT_MS', 'HEARTBEAT_TIMEOUT_MS', 'AMQP_MAX_BACKOFF_MS', 'LOG_FORMAT', 'LOG_LEVEL'];

function joinCommand() {
  const env = { NODE_ID: nodeId(count + 1), PORT: String(basePort + count), AMQP_URL: amqpUrl };
  if (process.env.AMQP_PREFIX) env.AMQP_PREFIX = prefix;
  env.DUPLEX_SECRET = secret;
  for (const name of SHARED_ENV) if (process.env[name]) env[name] = process.env[name];
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${shellWord(value)}`);
  const rel = relative(process.cwd(), main);
  const script = rel.startsWith('..') ? main : rel;
  return `${assignments.join(' ')} node ${shellWord(script)}`;
}

/** True when a line already names its node: Nest's text prefix `[node-1] ` (after colours), or a JSON line's `node`. */
const ANSI = /\x1b\[[0-9;]*m/g;
function namesNode(line, id) {
  const plain = line.replace(ANSI, '');
  if (plain.startsWith(`[${id}] `)) return true;
  if (plain.startsWith('{')) {
    try {
      return JSON.parse(plain).node === id;
    } catch {
      return false;
    }
  }
  return false;
}

const children = [];
let stopping = false;

/** Runs a script of the build with its output line by line, each line naming `id` once. */
function spawnLabelled(id, script, env, onExit) {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // A node's logger names the node itself; lines it did not write (a stack's
  // continuation, a crash before the logger) get the name here, so each line names it once.
  const label = `[${id}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    const write = (line) => process.stdout.write((namesNode(line, id) ? '' : label) + line + '\n');
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) write(line);
    });
    stream.on('end', () => partial && write(partial));
  }
  child.on('exit', (code, signal) => {
    if (!stopping) console.log(`${label}exited (${signal ?? code}); ${onExit}`);
  });
  return child;
}

function start() {
  const cluster = { AMQP_URL: amqpUrl, AMQP_PREFIX: prefix };
  for (let i = 1; i <= count; i++) {
    const port = basePort + i - 1;
    const id = nodeId(i);
    const child = spawnLabelled(id, main, { ...cluster, NODE_ID: id, PORT: String(port), DUPLEX_SECRET: secret }, 'the others keep serving');
    children.push({ child, port, id });
  }
  // The worker beside the nodes: it raises callbacks through the broker and is not a node.
  const boxOffice = spawnLabelled('box-office', worker, cluster, 'the nodes keep serving');
  children.push({ child: boxOffice, id: 'box-office' });

  console.log(`\nCluster of ${count} nodes on ${masked}, prefix "${prefix}":`);
  for (const { id, port } of children) if (port) console.log(`  ${id}: http://127.0.0.1:${port}  (health: /health)`);
  console.log('  box-office: a worker (apps/box-office) announcing to the watchers of the show on every node, not a node');
  console.log(
    secretGiven
      ? '\nDUPLEX_SECRET is the one you passed.'
      : `\nDUPLEX_SECRET (random for this run; start with DUPLEX_SECRET=… npm run cluster to choose one):\n  ${secret}`,
  );
  console.log(`One more node joins from another terminal, in ${root}:\n  ${joinCommand()}`);
  if (!reset) {
    console.log(`The party is kept on the broker between runs; npm run cluster -- --reset starts an empty one.`);
  }
  console.log('Ctrl-C stops them all.\n');
}

const stop = () => {
  if (stopping) return;
  stopping = true;
  for (const { child } of children) child.kill('SIGTERM');
  setTimeout(() => process.exit(0), 5000).unref();
  Promise.all(children.map(({ child }) => new Promise((r) => (child.exitCode !== null ? r() : child.on('exit', r))))).then(() =>
    process.exit(0),
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

(async () => {
  if (reset) await resetTopology();
  if (resetOnly) return;
  if (stopping) return;
  start();
})().catch((error) => fail(error.stack ?? String(error)));
