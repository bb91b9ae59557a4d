/**
 * Gives the cluster suites a RabbitMQ: `AMQP_URL` when set (CI uses the
 * machine's broker), else one started with testcontainers
 * (`RABBITMQ_IMAGE`, default rabbitmq:3.10-management). With neither, every
 * cluster suite fails and says how to get one (broker.required.ts): a suite
 * that needs a broker never skips, and the suites that need none still run.
 */
import * as amqp from 'amqplib';

const IMAGE = process.env.RABBITMQ_IMAGE ?? 'rabbitmq:3.10-management';

declare global {
  // eslint-disable-next-line no-var
  var __RABBITMQ_CONTAINER__: { stop(): Promise<unknown> } | undefined;
}

export default async function setup(): Promise<void> {
  try {
    await findBroker();
  } catch (error) {
    // Read by every cluster suite's setup file, in this process or a worker it forks.
    process.env.DUPLEX_TEST_NO_BROKER = (error as Error).message;
    console.error(`\ncluster suites: no broker; they will fail.\n${(error as Error).message}`);
  }
}

async function findBroker(): Promise<void> {
  // Each run names its exchanges and queues with its own prefix, so runs
  // sharing a broker, and what earlier runs left behind, never meet.
  process.env.AMQP_TEST_RUN ??= `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

  if (process.env.AMQP_URL) {
    await probe(process.env.AMQP_URL, `AMQP_URL=${process.env.AMQP_URL} is set but no broker answers there.`);
    console.log(`\ncluster suites: the broker at AMQP_URL=${process.env.AMQP_URL}`);
    return;
  }
  let containerError: unknown;
  try {
    process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
    const container = await new RabbitMQContainer(IMAGE).start();
    globalThis.__RABBITMQ_CONTAINER__ = container;
    process.env.AMQP_URL = container.getAmqpUrl();
    console.log(`\ncluster suites: ${IMAGE} started by testcontainers at ${process.env.AMQP_URL}`);
    return;
  } catch (error) {
    containerError = error;
  }
  throw new Error(
    [
      'The cluster suites need a RabbitMQ broker, and none is available.',
      `- AMQP_URL is not set, and testcontainers could not start ${IMAGE}: ${(containerError as Error)?.message}`,
      'Get one either way:',
      '- point at a running broker: AMQP_URL=amqp://guest:guest@127.0.0.1:5672 npm test',
      '  (Debian: apt-get install rabbitmq-server && rabbitmq-server -detached)',
      '- or run a Docker engine so testcontainers can start one (RABBITMQ_IMAGE overrides the image).',
    ].join('\n'),
  );
}

async function probe(url: string, problem: string): Promise<void> {
  try {
    const connection = await amqp.connect(url);
    await connection.close();
  } catch (error) {
    throw new Error(`${problem} (${(error as Error).message}). Start it (rabbitmq-server -detached) or unset AMQP_URL to use testcontainers.`);
  }
}
