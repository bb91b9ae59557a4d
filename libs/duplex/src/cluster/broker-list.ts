/**
 * The brokers of one RabbitMQ cluster that a connection may use, and which
 * one it tries next. A connection starts at a broker picked from its spread
 * key (the node id), so the nodes of a cluster given the same list spread
 * over its brokers; on a failed attempt it moves to the next, and once it has
 * tried them all it backs off before the next round.
 */
export class BrokerList {
  private index: number;
  private failures = 0;

  constructor(
    readonly urls: readonly string[],
    spreadKey: string,
  ) {
    if (urls.length === 0) throw new Error('BrokerList needs at least one broker URL');
    this.index = fnv1a(spreadKey) % urls.length;
  }

  get current(): string {
    return this.urls[this.index];
  }

  /** Moves to the next broker; true when that starts a new round (every broker failed once since the last success). */
  advance(): boolean {
    this.index = (this.index + 1) % this.urls.length;
    return ++this.failures % this.urls.length === 0;
  }

  /** Connected: the next failure starts a new round. */
  connected(): void {
    this.failures = 0;
  }
}

/** The broker of a URL without its credentials, for logs. */
export function brokerName(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'amqps:' ? 5671 : 5672)}`;
  } catch {
    return '(unparseable AMQP URL)';
  }
}

/**
 * Splits a broker setting (one URL, a comma-separated list, or an array)
 * into URLs, naming every one that is not amqp:// or amqps://.
 */
export function parseBrokerUrls(value: string | readonly string[]): { urls: string[]; problems: string[] } {
  const urls = (typeof value === 'string' ? value.split(',') : value).map((url) => url.trim()).filter(Boolean);
  const problems: string[] = [];
  for (const url of urls) {
    let protocol = '';
    try {
      protocol = new URL(url).protocol;
    } catch {
      // not a URL at all: reported below
    }
    if (protocol !== 'amqp:' && protocol !== 'amqps:') problems.push(`${JSON.stringify(redact(url))} is not an amqp:// or amqps:// URL`);
  }
  return { urls, problems };
}

/** A URL's password hidden, if it has one; anything else as it is. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
