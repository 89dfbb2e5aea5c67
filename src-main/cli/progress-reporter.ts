/** Progress lines on stderr: rewritten in place on a terminal, one line per 5% otherwise. */
import type { Progress } from '../core/util/progress';

/** Returns an `onProgress` callback that writes `label 42% message` to stderr. */
export function stderrProgress(label: string, stream: NodeJS.WriteStream = process.stderr): (progress: Progress) => void {
  let lastStep = -1;
  let lastWrite = 0;
  return ({ fraction, message }) => {
    const percent = Math.round(fraction * 100);
    const line = `${label} ${String(percent).padStart(3)}% ${message}`;
    if (stream.isTTY) {
      const now = Date.now();
      if (now - lastWrite < 100 && fraction < 1) return;
      lastWrite = now;
      stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 120) - 1)}${fraction >= 1 ? '\n' : ''}`);
      return;
    }
    const step = fraction >= 1 ? 21 : Math.floor(percent / 5);
    if (step === lastStep) return;
    lastStep = step;
    stream.write(`${line}\n`);
  };
}
