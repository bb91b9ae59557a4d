import { DuplexClient, DuplexClientOptions } from '@nest-duplex/client';

/** Connected SDK clients that a suite closes in one call. */
export class Clients {
  private readonly all: DuplexClient[] = [];

  async connect(url: string, options: DuplexClientOptions = {}): Promise<DuplexClient> {
    const client = await DuplexClient.connect(url, { socket: { reconnection: false }, ...options });
    this.all.push(client);
    return client;
  }

  closeAll(): void {
    for (const client of this.all.splice(0)) client.close();
  }
}

/** Resolves when `predicate` holds, polling; rejects with `what` after `ms`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets in-flight messages land, to check that nothing more arrives. */
export const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));
