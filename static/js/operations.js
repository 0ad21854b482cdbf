// The live operations page: poll the staff-only snapshot endpoint, turn the
// difference between two snapshots into rates and latency percentiles (as
// Prometheus's rate() and histogram_quantile() would), and draw them with
// uPlot (the global from static/vendor/uplot). Everything shown is text.

const config = JSON.parse(document.getElementById("ops-config").textContent);
const KEEP = 180; // points kept per chart: 6 minutes at one poll every 2 s
const $ = (id) => document.getElementById(id);

let previous = null;
const history = {
  time: [],
  produced: [], consumed: [],
  p50: [], p95: [], p99: [],
  sockets: [],
  handlerErrors: [], deadLettered: [], produceErrors: [], http5xx: [],
  lag: new Map(), // "topic[partition]" -> values aligned with time
};

function chart(elementId, series, yLabel) {
  const element = $(elementId);
  const options = {
    width: Math.max(300, element.clientWidth),
    height: 220,
    // Past a handful of series the legend outgrows the chart; the table
    // below the charts has the same numbers.
    legend: { show: series.length <= 8 },
    scales: { x: { time: true } },
    axes: [{}, { label: yLabel, size: 60 }],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: false }))],
  };
  return new uPlot(options, [[], ...series.map(() => [])], element);
}

const palette = ["#2f6fde", "#e0702a", "#2a9d5b", "#c23b3b", "#8250c4", "#b8860b", "#1b9aaa", "#d14d9c"];
const charts = {
  throughput: chart("chart-throughput", [
    { label: "produced", color: palette[0] }, { label: "consumed", color: palette[1] },
  ], "events/s"),
  latency: chart("chart-latency", [
    { label: "p50", color: palette[2] }, { label: "p95", color: palette[1] }, { label: "p99", color: palette[3] },
  ], "ms"),
  sockets: chart("chart-sockets", [{ label: "open", color: palette[4] }], "sockets"),
  errors: chart("chart-errors", [
    { label: "handler errors", color: palette[3] }, { label: "dead-lettered", color: palette[5] },
    { label: "produce errors", color: palette[0] }, { label: "HTTP 5xx", color: palette[4] },
  ], "per s"),
  lag: null,
  lagKeys: "",
};

function push(array, value) {
  array.push(value);
  if (array.length > KEEP) array.shift();
}

function rate(now, before, key, seconds) {
  const delta = now.counters[key] - before.counters[key];
  // A restarted process resets its counters: no rate for that interval.
  return delta >= 0 ? delta / seconds : null;
}

// The q-quantile (in ms) of the observations made between two snapshots,
// interpolated linearly inside the bucket where it falls.
function quantile(q, now, before) {
  const upper = (le) => (le === "+Inf" ? Infinity : parseFloat(le));
  const earlier = new Map(before.latency.buckets.map(([le, count]) => [le, count]));
  const buckets = now.latency.buckets.map(([le, count]) => [upper(le), count - (earlier.get(le) || 0)]);
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound * 1000;
      const inBucket = count - lowerCount;
      const fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
      return (lowerBound + (bound - lowerBound) * fraction) * 1000;
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return null;
}

function setText(id, text, bad) {
  const element = $(id);
  element.textContent = text;
  element.classList.toggle("ops-bad", Boolean(bad));
}

function row(cells, bad) {
  const tr = document.createElement("tr");
  for (const cell of cells) {
    const td = document.createElement("td");
    td.textContent = cell === null || cell === undefined ? "–" : String(cell);
    tr.appendChild(td);
  }
  if (bad) tr.classList.add("ops-bad");
  return tr;
}

function renderTables(kafka) {
  $("table-brokers").replaceChildren(
    ...(kafka.brokers || []).map((b) => row(
      [b.id + (b.id === kafka.controller ? " (controller)" : ""), b.address, b.fenced ? "fenced" : "up"],
      b.fenced,
    )),
  );
  $("table-topics").replaceChildren(
    ...(kafka.topics || []).map((t) => row([
      t.name,
      t.exists ? t.partitions : "missing",
      t.replication_factor,
      t.under_replicated + (t.offline ? ` (${t.offline} offline)` : ""),
      t.configs["min.insync.replicas"],
      t.configs["retention.ms"] ? `${Math.round(t.configs["retention.ms"] / 3600000)} h` : null,
      t.drift.join("; ") || "no",
    ], !t.exists || t.under_replicated > 0 || t.offline > 0)),
  );
  $("group-name").textContent = kafka.group ? `${kafka.group.id} (${kafka.group.state || "no members"})` : "";
  $("table-lag").replaceChildren(
    ...(kafka.lag || []).map((l) => row([`${l.topic}[${l.partition}]`, l.end, l.committed, l.lag, l.owner || "unassigned"])),
  );
}

// "messenger.messages" -> "messages": the prefix is the same on every topic.
const shortTopic = (name) => name.slice(name.lastIndexOf(".") + 1);

function renderLag(kafka) {
  const current = new Map((kafka.lag || []).map((l) => [`${shortTopic(l.topic)}[${l.partition}]`, l.lag]));
  for (const key of current.keys()) {
    if (!history.lag.has(key)) history.lag.set(key, history.time.slice(0, -1).map(() => null));
  }
  for (const [key, values] of history.lag) {
    push(values, current.has(key) ? current.get(key) : null);
  }
  const keys = [...history.lag.keys()].sort();
  if (keys.join() !== charts.lagKeys) {
    // The set of partitions changed: uPlot needs a new chart for new series.
    if (charts.lag) charts.lag.destroy();
    charts.lag = chart("chart-lag", keys.map((key, i) => ({ label: key, color: palette[i % palette.length] })), "records");
    charts.lagKeys = keys.join();
  }
  charts.lag.setData([history.time, ...keys.map((key) => history.lag.get(key))]);
  return [...current.values()].reduce((sum, lag) => sum + lag, 0);
}

function render(now) {
  const kafka = now.kafka || {};
  if (previous) {
    const seconds = Math.max(0.001, now.time - previous.time);
    push(history.time, now.time);
    push(history.produced, rate(now, previous, "produced", seconds));
    push(history.consumed, rate(now, previous, "consumed", seconds));
    push(history.p50, quantile(0.5, now, previous));
    push(history.p95, quantile(0.95, now, previous));
    push(history.p99, quantile(0.99, now, previous));
    push(history.sockets, now.sockets);
    push(history.handlerErrors, rate(now, previous, "handler_errors", seconds));
    push(history.deadLettered, rate(now, previous, "dead_lettered", seconds));
    push(history.produceErrors, rate(now, previous, "produce_errors", seconds));
    push(history.http5xx, rate(now, previous, "http_5xx", seconds));

    charts.throughput.setData([history.time, history.produced, history.consumed]);
    charts.latency.setData([history.time, history.p50, history.p95, history.p99]);
    charts.sockets.setData([history.time, history.sockets]);
    charts.errors.setData([history.time, history.handlerErrors, history.deadLettered, history.produceErrors, history.http5xx]);
    const totalLag = renderLag(kafka);

    const last = (array) => array[array.length - 1];
    const fmt = (value, digits = 1) => (value === null || value === undefined ? "–" : value.toFixed(digits));
    const errors = ["handlerErrors", "deadLettered", "produceErrors", "http5xx"]
      .reduce((sum, key) => sum + (last(history[key]) || 0), 0);
    setText("tile-throughput", fmt(last(history.consumed)));
    setText("tile-p95", fmt(last(history.p95), 0));
    setText("tile-lag", kafka.error ? "?" : String(totalLag), totalLag > 1000);
    setText("tile-errors", fmt(errors, 2), errors > 0);
  }
  setText("tile-sockets", String(now.sockets));
  if (kafka.error) {
    setText("tile-brokers", "0", true);
    setText("ops-status", `Kafka is unreachable: ${kafka.error}`, true);
  } else {
    const up = kafka.brokers.filter((b) => !b.fenced).length;
    setText("tile-brokers", `${up} / ${kafka.brokers.length}`, up < kafka.brokers.length);
    setText("ops-status", `Updated ${new Date(now.time * 1000).toLocaleTimeString()} · cluster ${kafka.cluster_id}`);
    renderTables(kafka);
  }
  previous = now;
}

async function poll() {
  try {
    const response = await fetch(config.dataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    setText("ops-status", `The snapshot could not be loaded (${error.message}); retrying.`, true);
  } finally {
    setTimeout(poll, config.pollSeconds * 1000);
  }
}

window.addEventListener("resize", () => {
  for (const c of [charts.throughput, charts.latency, charts.sockets, charts.errors, charts.lag]) {
    if (c) c.setSize({ width: Math.max(300, c.root.parentElement.clientWidth), height: 220 });
  }
});

poll();
