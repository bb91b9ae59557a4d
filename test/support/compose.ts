import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** The images docker-compose.yml names that are not built from this repository. */
export const BASE_IMAGES = ['rabbitmq:3.10-management', 'haproxy:2.6', 'node:20-bookworm-slim'];

/** A compose project of its own, driven through whichever compose this machine has. */
export class ComposeProject {
  private constructor(
    private readonly command: string[],
    readonly name: string,
    private readonly env: Record<string, string>,
  ) {}

  /** Fails, saying how to get one, when there is no engine, no compose or no base image. */
  static async open(name: string, env: Record<string, string>): Promise<ComposeProject> {
    const how = 'apt-get install docker.io docker-compose, start dockerd, then run docker/standins/build.sh where no image registry is reachable';
    try {
      await run('docker', ['info', '--format', '{{.ServerVersion}}']);
    } catch (error) {
      throw new Error(`No Docker engine answers (${(error as Error).message.split('\n')[0]}): ${how}.`);
    }
    const command = await composeCommand();
    const missing: string[] = [];
    for (const image of BASE_IMAGES) {
      await run('docker', ['image', 'inspect', image]).catch(() => missing.push(image));
    }
    if (missing.length > 0) throw new Error(`Docker lacks ${missing.join(', ')}: pull them, or ${how}.`);
    return new ComposeProject(command, name, env);
  }

  async compose(...args: string[]): Promise<string> {
    const [file, ...base] = this.command;
    const { stdout, stderr } = await run(file, [...base, '-p', this.name, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout + stderr;
  }

  /** Everything the services printed, for a failure's message. */
  logs(): Promise<string> {
    return this.compose('logs', '--no-color', '--tail=400').catch((error) => String(error));
  }
}

/**
 * `docker compose` (v2) when present, else `docker-compose` (v1.29, Debian's: it reads the same file),
 * as scripts/compose.sh decides for everyone who runs compose here; its message says what to install.
 */
async function composeCommand(): Promise<string[]> {
  try {
    const { stdout } = await run('bash', [join(ROOT, 'scripts', 'compose.sh'), '--which']);
    return stdout.trim().split(' ');
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error((stderr || message).trim());
  }
}
