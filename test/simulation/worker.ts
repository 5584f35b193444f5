// Effectful (IPC with the parent). A simulation worker process: it runs each seed the pool sends
// and sends the result back, until told it is done. Started by pool.ts, never by hand.

import type { WorkerMessage } from './pool.ts';
import { runSeed } from './run.ts';

process.on('message', (message: WorkerMessage) => {
  if ('done' in message) {
    process.disconnect?.();
    return;
  }
  process.send?.(runSeed(message.seed, message.options));
});
