import { io, type Socket } from 'socket.io-client';
import { DuplexClient } from '@nest-duplex/client';

/** A bench client never reconnects: a dropped connection must show as lost deliveries, not be papered over. */
export function connectDuplex(url: string): Promise<DuplexClient> {
  return DuplexClient.connect(url, { socket: { reconnection: false } });
}

export async function connectSocketIo(url: string): Promise<Socket> {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}
