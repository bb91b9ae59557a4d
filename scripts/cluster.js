#!/usr/bin/env node
// The scaling demo without Docker: three demo nodes on ports 3001–3003 sharing
// one RabbitMQ. Ctrl-C stops them all.
//
//   npm run cluster                       (AMQP_URL defaults to the local broker)
//   NODES=5 BASE_PORT=4001 npm run cluster
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { join } = require('node:path');

const amqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const count = Number(process.env.NODES ?? 3);
const basePort = Number(process.env.BASE_PORT ?? 3001);
// Nodes must share the secret, or a session cannot resume on another node.
const secret = process.env.DUPLEX_SECRET ?? randomBytes(24).toString('hex');
const main = join(__dirname, '..', 'dist', 'apps', 'demo', 'src', 'main.js');

const children = [];
let stopping = false;

for (let i = 1; i <= count; i++) {
  const port = basePort + i - 1;
  const nodeId = `node-${i}`;
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, AMQP_URL: amqpUrl, NODE_ID: nodeId, PORT: String(port), DUPLEX_SECRET: secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${nodeId}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) process.stdout.write(prefix + line + '\n');
    });
  }
  child.on('exit', (code, signal) => {
    if (!stopping) console.log(`${prefix}exited (${signal ?? code}); the others keep serving`);
  });
  children.push({ child, port, nodeId });
}

console.log(`\nCluster of ${count} nodes on ${amqpUrl.replace(/\/\/[^@]*@/, '//***@')}:`);
for (const { nodeId, port } of children) console.log(`  ${nodeId}: http://127.0.0.1:${port}  (health: /health)`);
console.log('Ctrl-C stops them all.\n');

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
