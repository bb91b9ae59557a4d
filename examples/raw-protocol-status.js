#!/usr/bin/env node
// The status scenario spoken with nothing but socket.io-client, from the wire
// protocol in docs/protocol.md. If this works, the protocol is real: a client
// in any language can do the same.
//
//   node examples/raw-protocol-status.js [url]      (default http://127.0.0.1:3000)
'use strict';
const { io } = require('socket.io-client');

const url = process.argv[2] ?? process.env.DUPLEX_URL ?? 'http://127.0.0.1:3000';
const socket = io(url, { transports: ['websocket'], auth: {}, reconnection: false });
const received = [];

const fail = (why) => {
  console.error(`FAILED: ${why}`);
  socket.close();
  process.exit(1);
};
const timer = setTimeout(() => fail('no three showStatus callbacks within 5 s'), 5000);

socket.on('connect_error', (error) => fail(`connect_error: ${error.message}`));
socket.on('session', (frame) => {
  console.log(`session ${frame.sessionId} on node ${frame.nodeId}`);
  socket.emit('call', { service: 'status', op: 'dataUpdated', args: [] }, (ack) => {
    if (!ack || ack.ok !== true) fail(`call refused: ${JSON.stringify(ack)}`);
    console.log('dataUpdated accepted');
  });
});
socket.on('callback', (frame, ack) => {
  if (frame.service !== 'status' || frame.method !== 'showStatus') return;
  if (typeof ack === 'function') ack({ ok: true });
  received.push(frame.args[0]);
  console.log(`showStatus: ${frame.args[0]}`);
  if (received.length === 3) {
    clearTimeout(timer);
    socket.close();
    process.exit(0);
  }
});
