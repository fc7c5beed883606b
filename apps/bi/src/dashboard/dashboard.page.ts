// The dashboard page, served as is (plain HTML and a little script; no build step, no dependencies). It listens to
// /dashboard/events (server-sent events from the broadcast handlers) and polls /dashboard/streams (XINFO) each second.
export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Redis Streams – live dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f4f6fa; }
  body { margin: 0; padding: 1.5rem 2rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
  .sub { color: #667; margin-bottom: 1.25rem; }
  .status { display: inline-block; padding: .1rem .5rem; border-radius: .75rem; font-size: .8rem; background: #f6d6d6; }
  .status.on { background: #cdeccd; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(26rem, 1fr)); gap: 1rem; }
  .card { background: #fff; border-radius: .5rem; padding: 1rem 1.25rem; box-shadow: 0 1px 3px #0002; }
  .card h2 { margin: 0 0 .5rem; font-size: 1.1rem; }
  .figures { display: flex; gap: 1.5rem; margin-bottom: .75rem; }
  .figure b { display: block; font-size: 1.5rem; font-variant-numeric: tabular-nums; }
  .figure span { color: #667; font-size: .8rem; }
  table { border-collapse: collapse; width: 100%; font-size: .85rem; margin-bottom: .5rem; }
  th, td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid #e4e7ee; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  td.consumer { padding-left: 1.5rem; color: #556; }
  #feed { list-style: none; padding: 0; margin: 0; font-family: ui-monospace, monospace; font-size: .8rem; max-height: 24rem; overflow: auto; }
  #feed li { padding: .15rem 0; border-bottom: 1px solid #eef; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .tag { display: inline-block; min-width: 3.2rem; font-weight: 600; }
  .tag.Email { color: #2a62c9; } .tag.Push { color: #b3521e; }
</style>
</head>
<body>
<h1>Redis Streams – live dashboard</h1>
<div class="sub">
  Live feed: <span id="status" class="status" data-testid="feed-status">connecting…</span>
  &nbsp; Streams refreshed: <span id="refreshed" data-testid="refreshed">never</span>
</div>
<div class="grid" id="streams"></div>
<div class="card" style="margin-top: 1rem">
  <h2>Live entries <small id="feed-total" data-testid="feed-total">0</small></h2>
  <ul id="feed" data-testid="feed"></ul>
</div>
<script>
  const STREAMS = ['Email', 'Push'];
  const FEED_SIZE = 50;
  const live = Object.fromEntries(STREAMS.map((s) => [s, 0]));
  let feedTotal = 0;
  let queued = [];

  function el(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // One card per stream, built once; the poll only replaces numbers and tables.
  const grid = document.getElementById('streams');
  for (const stream of STREAMS) {
    const card = el('div', { class: 'card', 'data-stream': stream });
    card.append(el('h2', {}, stream));
    const figures = el('div', { class: 'figures' });
    for (const [name, label] of [['length', 'entries in stream'], ['live', 'seen live'], ['dead', 'dead letters']]) {
      const figure = el('div', { class: 'figure' });
      figure.append(el('b', { 'data-testid': name + '-' + stream }, '–'), el('span', {}, label));
      figures.append(figure);
    }
    card.append(figures);
    const table = el('table');
    table.innerHTML = '<thead><tr><th>group / consumer</th><th>consumers</th><th>pending</th><th>lag</th><th>read</th><th>idle</th></tr></thead>';
    table.append(el('tbody', { 'data-testid': 'groups-' + stream }));
    card.append(table);
    grid.append(card);
  }

  function cell(text, testid, numeric = true) {
    const td = el('td', numeric ? { class: 'n' } : {}, text === null || text === undefined ? '–' : text);
    if (testid) td.setAttribute('data-testid', testid);
    return td;
  }

  function render(snapshot) {
    for (const info of snapshot.streams) {
      document.querySelector('[data-testid="length-' + info.stream + '"]').textContent = info.length;
      document.querySelector('[data-testid="dead-' + info.stream + '"]').textContent = info.deadLetters;
      const body = document.querySelector('[data-testid="groups-' + info.stream + '"]');
      const rows = [];
      for (const group of info.groups) {
        const id = info.stream + '-' + group.name;
        const row = el('tr', { 'data-group': group.name });
        row.append(
          cell(group.name, null, false),
          cell(group.consumers, 'consumers-' + id),
          cell(group.pending, 'pending-' + id),
          cell(group.lag, 'lag-' + id),
          cell(group.entriesRead, 'read-' + id),
          cell(''),
        );
        rows.push(row);
        for (const consumer of group.consumerList) {
          const sub = el('tr', { 'data-consumer': consumer.name });
          sub.append(cell(consumer.name, null, false), cell(''), cell(consumer.pending), cell(''), cell(''), cell((consumer.idle / 1000).toFixed(1) + ' s'));
          sub.firstChild.className = 'consumer';
          rows.push(sub);
        }
      }
      body.replaceChildren(...rows);
    }
    document.getElementById('refreshed').textContent = new Date(snapshot.at).toLocaleTimeString();
  }

  async function poll() {
    try {
      const response = await fetch('/dashboard/streams', { cache: 'no-store' });
      if (response.ok) render(await response.json());
    } catch (err) {
      document.getElementById('refreshed').textContent = 'failed: ' + err.message;
    } finally {
      setTimeout(poll, 1000);
    }
  }

  // Entries can arrive by thousands: count them at once, draw the feed at most once per frame.
  function flush() {
    const feed = document.getElementById('feed');
    for (const entry of queued.slice(-FEED_SIZE)) {
      const li = el('li', { 'data-id': entry.id, 'data-stream': entry.stream });
      li.append(el('span', { class: 'tag ' + entry.stream }, entry.stream), document.createTextNode(' ' + entry.id + '  ' + entry.summary));
      feed.prepend(li);
    }
    while (feed.children.length > FEED_SIZE) feed.lastChild.remove();
    queued = [];
    for (const stream of STREAMS) document.querySelector('[data-testid="live-' + stream + '"]').textContent = live[stream];
    document.getElementById('feed-total').textContent = feedTotal;
  }

  const status = document.getElementById('status');
  const events = new EventSource('/dashboard/events');
  events.onopen = () => {
    status.textContent = 'connected';
    status.className = 'status on';
    document.body.dataset.connected = 'true';
  };
  events.onerror = () => {
    status.textContent = 'reconnecting…';
    status.className = 'status';
    document.body.dataset.connected = 'false';
  };
  events.addEventListener('entry', (event) => {
    const entry = JSON.parse(event.data);
    live[entry.stream] = (live[entry.stream] || 0) + 1;
    feedTotal++;
    if (queued.push(entry) === 1) requestAnimationFrame(flush);
  });

  flush();
  poll();
</script>
</body>
</html>
`;
