import { stopAll } from './processes';

/**
 * Runs a benchmark's `main` as a command: every process it started is
 * stopped however it ends (done, failed, or interrupted), and the exit code
 * says which.
 */
export function runBench(main: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      stopAll();
      process.exit(130);
    });
  }
  main().then(
    () => process.exit(0),
    (error) => {
      stopAll();
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
