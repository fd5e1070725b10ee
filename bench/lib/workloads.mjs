// The workloads. Each runs one client process against one running server and returns plain
// numbers; the server's CPU time is read by the server itself (probe) at the same instants the
// client's counters are marked.
import { ClientProcess, machineCpu, sleep } from './processes.mjs';

function url(server, path) {
  return `ws://127.0.0.1:${server.port}${path}`;
}

/** Every node's URL, for a server that is several processes (`ServerGroup`). */
function urls(server, path) {
  return (server.ports ?? [server.port]).map(
    (port) => `ws://127.0.0.1:${port}${path}`,
  );
}

/** Runs `job`, then brackets `measureMs` of it with server CPU readings and client marks. */
async function windowed(
  plan,
  server,
  job,
  { warmupMs, measureMs, profileFile },
) {
  const client = await ClientProcess.start(plan, job);
  try {
    await sleep(warmupMs);
    if (profileFile) {
      await server.probe('profile-start');
    }
    const machineBefore = machineCpu();
    const [before] = await Promise.all([server.cpu(), client.mark()]);
    await sleep(measureMs);
    const [after, counts] = await Promise.all([server.cpu(), client.mark()]);
    const machineAfter = machineCpu();
    if (profileFile) {
      await server.probe('profile-stop', { file: profileFile });
    }
    const cpuSec = after.cpuSec - before.cpuSec;
    const wallSec = after.wallSec - before.wallSec;
    // CPU used on the machine by anything but this server and this client (other jobs, the
    // runner), in cores: the benchmark is only as good as this is small.
    const otherLoad = machineBefore
      ? (machineAfter.busySec -
          machineBefore.busySec -
          cpuSec -
          counts.clientBusy * counts.seconds) /
        wallSec
      : null;
    return {
      ...counts,
      serverCpuSec: cpuSec,
      serverUserSec: after.userSec - before.userSec,
      serverBusy: cpuSec / wallSec,
      otherLoad: otherLoad === null ? null : Math.max(0, otherLoad),
      steal: machineBefore
        ? (machineAfter.stealSec - machineBefore.stealSec) / wallSec
        : null,
    };
  } finally {
    await client.stop();
    await server.settle();
  }
}

/** Echo: `connections` x `inFlight` pipelined requests, throughput, latency, µs per message. */
export async function echo(plan, server, def, cfg, auth) {
  const r = await windowed(
    plan,
    server,
    {
      kind: 'echo',
      url: url(server, def.path),
      auth: { ...auth, users: cfg.connections },
      expect: def.expect,
      idInData: def.idInData,
      connections: cfg.connections,
      inFlight: cfg.inFlight,
    },
    cfg,
  );
  if (r.errors > 0 || r.replies === 0) {
    throw new Error(
      `echo on ${def.label}: ${r.errors} error replies, ${r.replies} echoes`,
    );
  }
  return {
    perSec: r.replies / r.seconds,
    serverUs: (r.serverCpuSec / r.replies) * 1e6,
    serverUserUs: (r.serverUserSec / r.replies) * 1e6,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    serverBusy: r.serverBusy,
    clientBusy: r.clientBusy,
    otherLoad: r.otherLoad,
    steal: r.steal,
    count: r.replies,
  };
}

/** Latency at a fixed open-loop rate, below every server's capacity. */
export async function latency(plan, server, def, cfg, auth) {
  const r = await windowed(
    plan,
    server,
    {
      kind: 'rate',
      url: url(server, def.path),
      auth: { ...auth, users: cfg.connections },
      expect: def.expect,
      idInData: def.idInData,
      connections: cfg.connections,
      rate: cfg.rate,
    },
    cfg,
  );
  if (r.errors > 0 || r.replies === 0) {
    throw new Error(
      `latency on ${def.label}: ${r.errors} error replies, ${r.replies} echoes`,
    );
  }
  return {
    perSec: r.replies / r.seconds,
    // Under 1: the server (or the client) did not keep up with the schedule.
    keptUp: r.replies / r.sent,
    serverUs: (r.serverCpuSec / r.replies) * 1e6,
    serverUserUs: (r.serverUserSec / r.replies) * 1e6,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    p999Ms: r.latencyMs.p999,
    maxMs: r.latencyMs.max,
    serverBusy: r.serverBusy,
    clientBusy: r.clientBusy,
    otherLoad: r.otherLoad,
    steal: r.steal,
    count: r.replies,
  };
}

/** Handshakes: connect (with `?token=`), wait until usable, close; `concurrency` at a time. */
export async function handshake(plan, server, def, cfg, auth, refused = false) {
  const r = await windowed(
    plan,
    server,
    {
      kind: 'handshake',
      url: url(server, def.path),
      auth: { ...auth, users: cfg.users, tamper: refused },
      expect: refused ? 'refused' : def.expect,
      concurrency: cfg.concurrency,
    },
    cfg,
  );
  const done = refused ? r.refused : r.completed;
  if (r.errors > done * 0.01 || done === 0) {
    throw new Error(
      `${refused ? 'refusals' : 'handshakes'} on ${def.label}: ${done} ok, ${r.errors} failed`,
    );
  }
  return {
    perSec: done / r.seconds,
    serverUs: (r.serverCpuSec / done) * 1e6,
    serverUserUs: (r.serverUserSec / done) * 1e6,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
    serverBusy: r.serverBusy,
    clientBusy: r.clientBusy,
    otherLoad: r.otherLoad,
    steal: r.steal,
    count: done,
    errors: r.errors,
  };
}

/** Room fan-out: one sender, `members` connections in the room (the sender's included). */
export async function fanout(plan, server, def, cfg, auth) {
  const r = await windowed(
    plan,
    server,
    {
      kind: 'fanout',
      urls: urls(server, def.fanout.path),
      auth: { ...auth, sub: cfg.user },
      sendJoin: def.fanout.sendJoin,
      room: cfg.room,
      members: cfg.members,
      window: cfg.window,
      concurrency: cfg.concurrency,
    },
    cfg,
  );
  if (r.errors > 0 || r.deliveries === 0) {
    throw new Error(
      `fan-out on ${def.label}: ${r.errors} error replies (${r.firstError ?? ''}), ${r.deliveries} deliveries`,
    );
  }
  return {
    perSec: r.deliveries / r.seconds,
    serverUs: (r.serverCpuSec / r.deliveries) * 1e6,
    serverUserUs: (r.serverUserSec / r.deliveries) * 1e6,
    messagesPerSec: r.messages / r.seconds,
    serverBusy: r.serverBusy,
    clientBusy: r.clientBusy,
    otherLoad: r.otherLoad,
    steal: r.steal,
    count: r.deliveries,
  };
}

/** Idle memory: RSS and heap after GC, per authenticated idle connection. */
export async function idle(plan, server, def, cfg, auth) {
  const job = {
    kind: 'idle',
    url: url(server, def.path),
    auth: { ...auth, users: cfg.count },
    expect: def.expect,
    concurrency: cfg.concurrency,
  };
  // A first small batch compiles the connection path, so code is not counted as per-connection.
  const warm = await ClientProcess.start(plan, { ...job, count: cfg.warmup });
  await warm.stop();
  await server.settle();
  const before = await server.memory();
  const client = await ClientProcess.start(plan, { ...job, count: cfg.count });
  let after;
  try {
    await sleep(cfg.holdMs);
    after = await server.memory();
  } finally {
    await client.stop();
    await server.settle();
  }
  const per = (key) => (after[key] - before[key]) / cfg.count;
  return {
    rssBytes: per('rss'),
    heapBytes: per('heapUsed'),
    externalBytes: per('external'),
    count: cfg.count,
    openPerSec: cfg.count / client.ready.openSeconds,
  };
}
