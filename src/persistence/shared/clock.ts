import type { SharedBackend } from './contract.ts';

/** How often the offset to the store's clock is measured again. */
const RESAMPLE_MS = 60_000;

/**
 * "Now" by the shared store's clock. Claims carry the claiming machine's
 * time and expiry compares it with the expiring machine's: with masters on
 * several machines, a skewed clock would expire claims early or never. So a
 * coordinator on a shared store that was given no clock keeps its own in
 * step with the database's: the offset is measured at open (the middle of
 * the round trip) and again every minute.
 */
export class SharedClock {
  private offset = 0;
  private timer: NodeJS.Timeout | null = null;

  private constructor(private readonly backend: SharedBackend) {}

  static async start(backend: SharedBackend): Promise<SharedClock> {
    const clock = new SharedClock(backend);
    await clock.sample();
    clock.timer = setInterval(() => void clock.sample().catch(() => {}), RESAMPLE_MS); // a failed sample keeps the last offset
    clock.timer.unref();
    return clock;
  }

  readonly now = (): Date => new Date(Date.now() + this.offset);

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async sample(): Promise<void> {
    const sent = Date.now();
    const server = await this.backend.serverTime();
    const received = Date.now();
    this.offset = Math.round(server - (sent + received) / 2);
  }
}
