/** A client of the live view's event stream: waits for the event a test expects. */
export interface ServerSentEvent {
  event: string;
  data: unknown;
}

export interface EventStream {
  readonly events: ServerSentEvent[];
  /** Resolves with the first event, seen or to come, that `match` accepts; rejects after `ms`. */
  next(match: (e: ServerSentEvent) => boolean, ms?: number): Promise<ServerSentEvent>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

export async function openEventStream(url: string): Promise<EventStream> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  if (!response.ok || !response.body) throw new Error(`event stream ${url}: ${response.status}`);
  const events: ServerSentEvent[] = [];
  const waiters = new Set<{ match: (e: ServerSentEvent) => boolean; resolve: (e: ServerSentEvent) => void }>();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const ended = (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = [...block.matchAll(/^data: ?(.*)$/gm)].map((m) => m[1]).join('\n');
          const e = { event, data: data === '' ? null : JSON.parse(data) };
          events.push(e);
          for (const w of [...waiters]) {
            if (!w.match(e)) continue;
            waiters.delete(w);
            w.resolve(e);
          }
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    events,
    ended,
    next(match, ms = 10_000) {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (e: ServerSentEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching event within ${ms} ms; got ${events.map((e) => e.event).join(', ')}`));
        }, ms);
        waiters.add(waiter);
      });
    },
    close: () => abort.abort(),
  };
}
