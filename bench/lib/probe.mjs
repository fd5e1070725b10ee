// Preloaded into every benchmarked server (`node --import ./bench/lib/probe.mjs`), so that even
// the unmodified chat server answers the runner over the IPC channel with its own CPU time and
// memory. Requests are `{ probe: 'cpu' | 'mem' | 'profile-start' | 'profile-stop' | 'exit', seq }`;
// replies echo `seq`.
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import process from 'node:process';

let session;

/** `--profile`: the V8 sampling profiler, in this process, only for the measured window. */
async function profile(action, file) {
  if (action === 'start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    return {};
  }
  const { profile: result } = await session.post('Profiler.stop');
  session.disconnect();
  writeFileSync(file, JSON.stringify(result));
  return { file };
}

if (typeof process.send === 'function') {
  process.on('message', (message) => {
    if (!message || typeof message !== 'object' || !('probe' in message)) {
      return;
    }
    const { probe, seq } = message;
    if (probe === 'cpu') {
      process.send({
        seq,
        cpu: process.cpuUsage(),
        wallNs: process.hrtime.bigint().toString(),
      });
      return;
    }
    if (probe === 'mem') {
      // Two full collections, so that weak maps and finalizers settle.
      if (typeof globalThis.gc === 'function') {
        globalThis.gc();
        globalThis.gc();
      }
      process.send({ seq, mem: process.memoryUsage(), gc: !!globalThis.gc });
      return;
    }
    if (probe === 'profile-start' || probe === 'profile-stop') {
      profile(probe.slice(8), message.file).then(
        (reply) => process.send({ seq, ...reply }),
        (error) => process.send({ seq, error: String(error) }),
      );
      return;
    }
    if (probe === 'exit') {
      // process.exit, not a signal: `--cpu-prof` writes its profile on this path.
      process.exit(0);
    }
  });
  // The IPC channel must not keep a server alive once the runner is gone.
  process.channel?.unref();
  process.on('disconnect', () => process.exit(0));
}
