import { round } from './stats';

export interface Row {
  figure: string;
  duplex: number;
  amqp?: number;
  socketio?: number;
  better: 'lower' | 'higher';
}

const ratio = (a: number, b?: number) => (b === undefined || b === 0 ? '' : `${round(a / b)}×`);

/** The printed summary: each figure for this project, each baseline, and this project ÷ baseline. */
export function table(rows: Row[]): string {
  const header = ['figure', 'nest-duplex', 'raw amqplib', 'Socket.IO+Redis', 'vs amqplib', 'vs Socket.IO', 'better'];
  const cells = rows.map((row) => [
    row.figure,
    String(row.duplex),
    row.amqp === undefined ? '' : String(row.amqp),
    row.socketio === undefined ? '' : String(row.socketio),
    ratio(row.duplex, row.amqp),
    ratio(row.duplex, row.socketio),
    row.better,
  ]);
  const widths = header.map((_, i) => Math.max(header[i].length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}
