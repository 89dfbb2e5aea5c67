/** Progress of a long computation: `fraction` in 0..1 and a human-readable message. */
export interface Progress {
  fraction: number;
  message: string;
}

/** Options every long computation accepts: cancel with `signal`, hear about progress with `onProgress`. */
export interface LongWorkOptions {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

/** Thrown when a computation stops because its signal was aborted. */
export class CancelledError extends Error {
  constructor(message = 'Cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Throws `CancelledError` when the signal has been aborted; call it between steps. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CancelledError();
}

/** Lets other work (I/O, messages, cancel requests) run before continuing a long loop. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
