import { ConsoleLogger, type LogLevel } from '@nestjs/common';

type JsonLog = ConsoleLogger['getJsonLogObject'];

/**
 * Nest's console logger, naming the node on every line: as the prefix in
 * text mode, as a `node` field in JSON mode (LOG_FORMAT=json), where logs
 * of many nodes are usually read side by side.
 */
export class NodeLogger extends ConsoleLogger {
  constructor(
    private readonly nodeId: string,
    options: { json?: boolean; logLevels?: LogLevel[] } = {},
  ) {
    super({ prefix: nodeId, json: options.json ?? false, logLevels: options.logLevels });
  }

  /** From LOG_FORMAT (text | json) and LOG_LEVEL (lowest level printed: debug, log, warn, error). */
  static fromEnv(nodeId: string, env: NodeJS.ProcessEnv = process.env): NodeLogger {
    const order: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];
    const lowest = order.indexOf((env.LOG_LEVEL ?? 'log') as LogLevel);
    return new NodeLogger(nodeId, { json: env.LOG_FORMAT === 'json', logLevels: order.slice(lowest < 0 ? 2 : lowest) });
  }

  protected override getJsonLogObject(...args: Parameters<JsonLog>): ReturnType<JsonLog> {
    return { ...super.getJsonLogObject(...args), node: this.nodeId };
  }
}
