import { setTimeout as sleep } from 'node:timers/promises';
import { DuplexContext, DuplexService, OperationHandlers } from '@nest-duplex/server';
import { echoContract } from './echo.contract';

@DuplexService(echoContract)
export class EchoService implements OperationHandlers<typeof echoContract> {
  private readonly clients;

  constructor(private readonly duplex: DuplexContext) {
    this.clients = duplex.callbacks(echoContract);
  }

  askCaller(question: string): Promise<string> {
    return this.clients.caller().answer(question);
  }

  askSession(sessionId: string, question: string): Promise<string> {
    return this.clients.session(sessionId).answer(question);
  }

  async wait(ms: number, tag: string): Promise<string> {
    await sleep(ms);
    return tag;
  }

  waitConcurrently(ms: number, tag: string): Promise<string> {
    return this.wait(ms, tag);
  }

  async tellUser(userId: string, text: string): Promise<void> {
    await this.clients.user(userId).told(text);
  }

  sessionsOf(userId: string): string[] {
    return this.duplex.sessionsOf(userId).map((session) => session.id);
  }

  gatherAnswers(topic: string, question: string) {
    return this.clients.gather(topic).answer(question);
  }

  whoAmI(): { sessionId: string; nodeId: string } {
    return { sessionId: this.duplex.session.id, nodeId: this.duplex.nodeId };
  }
}
