import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DuplexEmitter } from '@nest-duplex/server/emitter';
import { boxOfficeContract } from '../../demo/src/box-office/box-office.contract';
import { showTopic } from '../../demo/src/seat-booking/seat-booking.contract';

/** Minutes to the doors opening, counted down once a period and started again at 0. */
const COUNTDOWN_FROM = 30;

/**
 * Tells every watcher of each show, on whichever node, how long until the
 * doors open: a timer in a process that hosts no sockets, raising topic
 * callbacks through the cluster's broker.
 */
@Injectable()
export class BoxOffice implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(BoxOffice.name);
  private readonly shows = (process.env.BOX_OFFICE_SHOWS ?? 'premiere').split(',').map((s) => s.trim()).filter(Boolean);
  private readonly everyMs = Number(process.env.BOX_OFFICE_EVERY_MS ?? 20_000);
  private timer: NodeJS.Timeout | undefined;
  private minutes = COUNTDOWN_FROM;

  constructor(private readonly emitter: DuplexEmitter) {}

  onApplicationBootstrap(): void {
    this.logger.log(`announcing to the watchers of ${this.shows.join(', ')} every ${this.everyMs} ms`);
    this.timer = setInterval(() => void this.announce(), this.everyMs);
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async announce(): Promise<void> {
    const text = this.minutes === 0 ? 'the doors are open' : `doors open in ${this.minutes} minutes`;
    this.minutes = this.minutes === 0 ? COUNTDOWN_FROM : this.minutes - 1;
    const watchers = this.emitter.callbacks(boxOfficeContract);
    for (const show of this.shows) {
      try {
        await watchers.topic(showTopic(show)).announcement(show, text);
      } catch (error) {
        // Not confirmed by the broker (it is down): said here, and the next period tries again.
        this.logger.warn(`${show}: "${text}" not announced: ${(error as Error).message}`);
      }
    }
  }
}
