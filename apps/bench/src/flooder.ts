/**
 * One client that fires `count` calls at once without waiting, in a process
 * of its own (forked by the pressure bench), and reports how they were
 * answered: by code for this project, as acks for Socket.IO.
 */
import { connectSocketIo } from './clients';
import type { SystemKind } from './subscribers';

export interface FloodRequest {
  kind: SystemKind;
  url: string;
  count: number;
}

export interface FloodReport {
  answers: Record<string, number>;
  seconds: number;
}

async function flood({ kind, url, count }: FloodRequest): Promise<FloodReport> {
  // A raw Socket.IO client for both: the SDK would queue and pace what a flooding client does not.
  const socket = await connectSocketIo(url);
  if (kind === 'duplex') await new Promise((resolve) => socket.once('session', resolve));
  const answers: Record<string, number> = {};
  const started = performance.now();
  await new Promise<void>((resolve) => {
    let pending = count;
    const timer = setTimeout(resolve, 60_000);
    const answered = (key: string) => {
      answers[key] = (answers[key] ?? 0) + 1;
      if (--pending === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (let i = 0; i < count; i++) {
      if (kind === 'duplex') {
        socket.emit('call', { service: 'relay', op: 'join', args: [`flood-${i % 10}`] }, (ack: { ok: boolean; error?: { code: string } }) =>
          answered(ack.ok ? 'ok' : ack.error!.code),
        );
      } else {
        socket.emit('join', `flood-${i % 10}`, () => answered('ok'));
      }
    }
  });
  socket.close();
  answers.unanswered = count - Object.values(answers).reduce((sum, n) => sum + n, 0);
  return { answers, seconds: Math.round((performance.now() - started) / 10) / 100 };
}

process.on('message', (request: FloodRequest) => {
  flood(request).then(
    (report) => process.send!({ type: 'report', report }),
    (error: Error) => process.send!({ type: 'failed', message: error.message }),
  );
});
