export default async function teardown(): Promise<void> {
  await globalThis.__RABBITMQ_CONTAINER__?.stop();
}
