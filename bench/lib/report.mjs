// Aggregation (median with min-max over trials, ratios to raw ws and bare Nest of the same run),
// the console tables, the target check and the generated section of BENCHMARKS.md.

const BUSY_FLOOR = 0.85;

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `{metric: {median, min, max}}` over the trials of one server in one workload. */
export function summarize(trials) {
  const out = {};
  for (const key of Object.keys(trials[0] ?? {})) {
    const values = trials
      .map((t) => t[key])
      .filter((v) => typeof v === 'number');
    if (values.length) {
      out[key] = {
        median: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
      };
    }
  }
  return out;
}

function num(value, digits) {
  if (value === null || value === undefined || Number.isNaN(value)) {
    return '—';
  }
  if (digits === undefined) {
    digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  }
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function spread(stat, digits) {
  return `${num(stat.median, digits)} (${num(stat.min, digits)}–${num(stat.max, digits)})`;
}

const ratio = (a, b) => (a && b ? a.median / b.median : null);
const x = (value) => (value === null ? '—' : `${num(value, 2)}x`);

/** What each workload reports, in table order. */
export const WORKLOADS = {
  echo: {
    title: 'Echo',
    metrics: [
      ['perSec', 'msg/s', 0],
      ['serverUs', 'server µs/msg', 1],
      ['serverUserUs', 'of which user', 1],
      ['p50Ms', 'p50 ms', 2, false],
      ['p99Ms', 'p99 ms', 2],
    ],
  },
  latency: {
    title: 'Latency at a fixed rate',
    metrics: [
      ['perSec', 'msg/s', 0, false],
      ['serverUs', 'server µs/msg', 1],
      ['p50Ms', 'p50 ms', 2],
      ['p99Ms', 'p99 ms', 2],
      ['p999Ms', 'p99.9 ms', 2],
      ['maxMs', 'max ms', 1, false],
    ],
  },
  fanout: {
    title: 'Room fan-out',
    metrics: [
      ['perSec', 'deliveries/s', 0],
      ['serverUs', 'server µs/delivery', 2],
      ['serverUserUs', 'of which user', 2],
    ],
  },
  fanout10k: {
    title: 'Room fan-out at scale',
    metrics: [
      ['perSec', 'deliveries/s', 0],
      ['serverUs', 'server µs/delivery', 2],
      ['serverUserUs', 'of which user', 2],
    ],
  },
  handshake: {
    title: 'Handshakes (JWT in ?token=)',
    metrics: [
      ['perSec', 'handshakes/s', 0],
      ['serverUs', 'server µs/handshake', 0],
      ['serverUserUs', 'of which user', 0],
      ['p50Ms', 'p50 ms', 2, false],
    ],
  },
  refuse: {
    title: 'Refusing a bad token (ratios against the handshake rows)',
    baselineOf: 'handshake',
    metrics: [
      ['perSec', 'refusals/s', 0],
      ['serverUs', 'server µs/refusal', 0],
      ['serverUserUs', 'of which user', 0],
    ],
  },
  idle: {
    title: 'Idle memory per connection (after GC)',
    metrics: [
      ['rssBytes', 'RSS bytes/conn', 0],
      ['heapBytes', 'heap bytes/conn', 0],
    ],
  },
};

/** Rows of one workload: for each server and metric, the spread and both ratios. */
export function rows(summary, workload, labels) {
  const spec = WORKLOADS[workload];
  const base = summary[spec.baselineOf ?? workload] ?? {};
  const out = [];
  for (const [server, stats] of Object.entries(summary[workload] ?? {})) {
    const row = { server: labels[server], cells: [] };
    for (const [key, label, digits, ratios = true] of spec.metrics) {
      row.cells.push({
        label,
        value: spread(stats[key], digits),
        ratios,
        vsRaw: x(ratio(stats[key], base.raw?.[key])),
        vsBare: x(ratio(stats[key], base.bare?.[key])),
      });
    }
    const busy = stats.serverBusy?.median;
    const pct = (stat) => (stat ? `${Math.round(stat.median * 100)}%` : '?');
    row.busy =
      busy === undefined
        ? ''
        : `${pct(stats.serverBusy)} / ${pct(stats.clientBusy)} / ${num(stats.otherLoad?.median, 2)}`;
    row.clientBound = busy !== undefined && busy < BUSY_FLOOR;
    out.push(row);
  }
  return out;
}

/** The targets of the brief (and its stretch goals), each measured as a ratio from this run. */
export function targets(summary) {
  const s = (w, server, key) => summary[w]?.[server]?.[key];
  const busy = (w, server) => s(w, server, 'serverBusy')?.median ?? 1;
  const bound = (...pairs) =>
    pairs.some(([w, server]) => busy(w, server) < BUSY_FLOOR)
      ? ' (client-bound)'
      : '';
  const list = [
    {
      target: 'full stack echo throughput >= 0.9x bare Nest',
      value: ratio(s('echo', 'full', 'perSec'), s('echo', 'bare', 'perSec')),
      pass: (v) => v >= 0.9,
      note: bound(['echo', 'full'], ['echo', 'bare']),
      cpu: ratio(s('echo', 'bare', 'serverUs'), s('echo', 'full', 'serverUs')),
    },
    {
      target: 'stretch: full stack echo throughput >= 1.0x bare Nest',
      value: ratio(s('echo', 'full', 'perSec'), s('echo', 'bare', 'perSec')),
      pass: (v) => v >= 1.0,
      note: bound(['echo', 'full'], ['echo', 'bare']),
      cpu: ratio(s('echo', 'bare', 'serverUs'), s('echo', 'full', 'serverUs')),
    },
    {
      target: 'full stack echo p99 <= 1.2x bare Nest',
      value: ratio(s('echo', 'full', 'p99Ms'), s('echo', 'bare', 'p99Ms')),
      pass: (v) => v <= 1.2,
      note: '',
    },
    {
      target: 'chat broadcast deliveries/s >= 1.15x raw ws',
      value: ratio(s('fanout', 'chat', 'perSec'), s('fanout', 'raw', 'perSec')),
      pass: (v) => v >= 1.15,
      note: bound(['fanout', 'chat'], ['fanout', 'raw']),
      cpu: ratio(
        s('fanout', 'raw', 'serverUs'),
        s('fanout', 'chat', 'serverUs'),
      ),
    },
    {
      target:
        'chat broadcast at scale (10,000 members) deliveries/s >= 1.15x raw ws',
      value: ratio(
        s('fanout10k', 'chat', 'perSec'),
        s('fanout10k', 'raw', 'perSec'),
      ),
      pass: (v) => v >= 1.15,
      note: bound(['fanout10k', 'chat'], ['fanout10k', 'raw']),
      cpu: ratio(
        s('fanout10k', 'raw', 'serverUs'),
        s('fanout10k', 'chat', 'serverUs'),
      ),
    },
    {
      target: 'full stack handshakes/s with JWT >= 0.9x bare Nest without auth',
      value: ratio(
        s('handshake', 'full', 'perSec'),
        s('handshake', 'bare', 'perSec'),
      ),
      pass: (v) => v >= 0.9,
      note: bound(['handshake', 'full'], ['handshake', 'bare']),
      cpu: ratio(
        s('handshake', 'bare', 'serverUs'),
        s('handshake', 'full', 'serverUs'),
      ),
    },
    {
      target: 'full stack idle RSS per connection <= 1.0x bare Nest',
      value: ratio(
        s('idle', 'full', 'rssBytes'),
        s('idle', 'bare', 'rssBytes'),
      ),
      pass: (v) => v <= 1.0,
      note: '',
    },
    {
      target: 'stretch: full stack idle RSS per connection <= 1.5x raw ws',
      value: ratio(s('idle', 'full', 'rssBytes'), s('idle', 'raw', 'rssBytes')),
      pass: (v) => v <= 1.5,
      note: '',
    },
    {
      target: 'full stack idle heap per connection <= 1.0x bare Nest',
      value: ratio(
        s('idle', 'full', 'heapBytes'),
        s('idle', 'bare', 'heapBytes'),
      ),
      pass: (v) => v <= 1.0,
      note: '',
    },
  ];
  return list.map((t) => ({
    target: t.target,
    measured: t.value === null ? '—' : `${num(t.value, 2)}x${t.note}`,
    status:
      t.value === null ? 'not measured' : t.pass(t.value) ? 'met' : 'MISSED',
    cpu: t.cpu === undefined || t.cpu === null ? '' : `${num(t.cpu, 2)}x`,
  }));
}

function table(header, body) {
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((r) => String(r[i]).length)),
  );
  const line = (cells) =>
    cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
  ].join('\n');
}

function markdownTable(header, body) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join(
    '\n',
  );
}

function workloadTable(summary, workload, labels, format) {
  const r = rows(summary, workload, labels);
  if (!r.length) {
    return '';
  }
  const header = ['server'];
  for (const cell of r[0].cells) {
    header.push(cell.label, ...(cell.ratios ? ['vs raw', 'vs bare'] : []));
  }
  const hasBusy = r.some((row) => row.busy);
  if (hasBusy) {
    header.push('busy: server / client / rest of machine (CPUs)');
  }
  const body = r.map((row) => {
    const cells = [row.server];
    for (const cell of row.cells) {
      cells.push(cell.value, ...(cell.ratios ? [cell.vsRaw, cell.vsBare] : []));
    }
    if (hasBusy) {
      cells.push(`${row.busy}${row.clientBound ? ', client-bound' : ''}`);
    }
    return cells;
  });
  return format(header, body);
}

/** The console report. */
export function consoleReport(summary, labels, describe) {
  const parts = [];
  for (const workload of Object.keys(WORKLOADS)) {
    const t = workloadTable(summary, workload, labels, table);
    if (t) {
      parts.push(`\n${WORKLOADS[workload].title}: ${describe[workload]}\n${t}`);
    }
  }
  const tg = targets(summary);
  parts.push(
    `\nTargets\n${table(
      ['target', 'measured', 'status', 'same, from server CPU'],
      tg.map((t) => [t.target, t.measured, t.status, t.cpu]),
    )}`,
  );
  return parts.join('\n');
}

/** The generated section of BENCHMARKS.md. */
export function markdownReport(summary, labels, describe, meta) {
  const parts = [
    `Run of ${meta.startedAt}: ${meta.trials} trials, Node ${meta.node}, ${meta.cpuModel} x${meta.cores}, ` +
      `${meta.pinned ? `server pinned to CPU ${meta.serverCore}, client to CPU ${meta.clientCore}` : 'no CPU pinning'}, ` +
      `commit ${meta.commit}${meta.dirty ? ' + uncommitted changes' : ''}, ${meta.seconds.toFixed(0)} s in all. ` +
      `Cells: median (min–max); ratios are medians over medians of the same run; raw JSON in \`bench/results/latest.json\`.`,
  ];
  for (const workload of Object.keys(WORKLOADS)) {
    const t = workloadTable(summary, workload, labels, markdownTable);
    if (t) {
      parts.push(
        `**${WORKLOADS[workload].title}**: ${describe[workload]}\n\n${t}`,
      );
    }
  }
  const tg = targets(summary);
  parts.push(
    `**Targets**\n\n${markdownTable(
      ['target', 'measured', 'status', 'same ratio from server CPU time'],
      tg.map((t) => [t.target, t.measured, t.status, t.cpu || '—']),
    )}`,
  );
  return parts.join('\n\n');
}
