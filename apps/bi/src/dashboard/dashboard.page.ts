// The dashboard page, served as is (plain HTML and a little script; no build step, no dependencies). It listens to
// /dashboard/events (server-sent events from the broadcast handlers), polls /dashboard/streams (XINFO) each second for
// the figures and each group's place on a timeline, and reads /dashboard/history for the history view.
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
  .timeline { margin: .25rem 0 .5rem; font-size: .75rem; color: #556; }
  .timeline .ends { display: flex; justify-content: space-between; }
  .track { position: relative; height: 1.1rem; background: #eef1f7; border-radius: .3rem; margin: .2rem 0; }
  .track .marker { position: absolute; top: 0; bottom: 0; width: 3px; background: #2a62c9; }
  .track .label { position: absolute; left: .4rem; top: .1rem; white-space: nowrap; }
  #history-form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; font-size: .85rem; margin-bottom: .5rem; }
  #history-form input[type=text] { width: 14rem; }
  #history-form input[type=number] { width: 4rem; }
  #history-rows td { font-family: ui-monospace, monospace; font-size: .8rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 40rem; }
</style>
</head>
<body>
<h1>Redis Streams – live dashboard</h1>
<div class="sub">
  Live feed: <span id="status" class="status" data-testid="feed-status">connecting…</span>
  &nbsp; Streams refreshed: <span id="refreshed" data-testid="refreshed">never</span>
</div>
<div class="grid" id="streams"></div>
<div class="card" style="margin-top: 1rem" data-testid="history">
  <h2>History</h2>
  <form id="history-form">
    <select id="history-stream" data-testid="history-stream"><option>Email</option><option>Push</option></select>
    from <input type="text" id="history-since" data-testid="history-since" placeholder="10m, or 2026-11-27T10:00:00Z">
    to <input type="text" id="history-until" data-testid="history-until" placeholder="now">
    <label><input type="checkbox" id="history-reverse" data-testid="history-reverse"> newest first</label>
    per page <input type="number" id="history-count" data-testid="history-count" min="1" max="500" value="50">
    <button type="submit" data-testid="history-load">Show</button>
    <span id="history-summary" data-testid="history-summary"></span>
    <button type="button" id="history-next" data-testid="history-next" disabled>Next page</button>
  </form>
  <table>
    <thead><tr><th>id</th><th>time</th><th>entry</th></tr></thead>
    <tbody id="history-rows" data-testid="history-rows"></tbody>
  </table>
</div>
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
    card.append(el('div', { class: 'timeline', 'data-testid': 'timeline-' + stream }));
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
      renderTimeline(info);
    }
    document.getElementById('refreshed').textContent = new Date(snapshot.at).toLocaleTimeString();
  }

  // Where each group stands between the oldest entry still in the stream and the newest (ids are ms timestamps).
  const idTime = (id) => Number(String(id).split('-')[0]);
  function renderTimeline(info) {
    const box = document.querySelector('[data-testid="timeline-' + info.stream + '"]');
    if (!info.firstEntryId) {
      box.replaceChildren(el('div', {}, 'no entries'));
      return;
    }
    const first = idTime(info.firstEntryId);
    const last = idTime(info.lastGeneratedId);
    const span = Math.max(last - first, 1);
    const ends = el('div', { class: 'ends' });
    ends.append(el('span', {}, new Date(first).toLocaleString()), el('span', {}, new Date(last).toLocaleString()));
    const tracks = info.groups.map((group) => {
      const at = idTime(group.lastDeliveredId);
      const position = Math.min(1, Math.max(0, (at - first) / span));
      const track = el('div', { class: 'track' });
      const marker = el('div', { class: 'marker', 'data-testid': 'timeline-' + info.stream + '-' + group.name, 'data-position': position.toFixed(3) });
      marker.style.left = 'calc(' + (position * 100).toFixed(1) + '% - 1px)';
      const when = at === 0 ? 'not started' : new Date(at).toLocaleTimeString();
      track.append(marker, el('span', { class: 'label', 'data-testid': 'timeline-label-' + info.stream + '-' + group.name }, group.name + ' · at ' + when + ' · lag ' + (group.lag ?? '?')));
      return track;
    });
    box.replaceChildren(ends, ...tracks);
  }

  // The history view: GET /dashboard/history, a page at a time; "Next page" carries on after the last entry shown.
  const DURATION = /^(\\d+(?:\\.\\d+)?)(s|m|h|d)$/;
  const UNIT = { s: 1000, m: 60000, h: 3600000, d: 86400000 };
  function bound(text, fallback) {
    const value = text.trim();
    if (!value) return fallback;
    const ago = DURATION.exec(value);
    if (ago) return new Date(Date.now() - Number(ago[1]) * UNIT[ago[2]]).toISOString();
    if (/^\\(?\\d+(-\\d+)?$/.test(value)) return value;
    const time = new Date(value);
    if (Number.isNaN(time.getTime())) throw new Error('not a time: ' + value);
    return time.toISOString();
  }
  let historyPage = 0;
  let historyNext = null;
  let historyLoads = 0;
  async function loadHistory(cursor) {
    const reverse = document.getElementById('history-reverse').checked;
    const summary = document.getElementById('history-summary');
    const params = new URLSearchParams({
      stream: document.getElementById('history-stream').value,
      count: document.getElementById('history-count').value,
      reverse: String(reverse),
    });
    try {
      params.set('since', bound(document.getElementById('history-since').value, '-'));
      params.set('until', bound(document.getElementById('history-until').value, '+'));
    } catch (err) {
      summary.textContent = err.message;
      return;
    }
    if (cursor) params.set(reverse ? 'until' : 'since', cursor);
    const response = await fetch('/dashboard/history?' + params, { cache: 'no-store' });
    const page = await response.json();
    if (!response.ok) {
      summary.textContent = page.message || 'failed';
      return;
    }
    historyPage = cursor ? historyPage + 1 : 1;
    historyNext = page.next;
    document.getElementById('history-rows').replaceChildren(...page.entries.map((entry) => {
      const row = el('tr', { 'data-id': entry.id });
      row.append(el('td', {}, entry.id), el('td', {}, new Date(entry.at).toLocaleString()), el('td', {}, entry.error ? 'undecodable: ' + entry.error : JSON.stringify(entry.data)));
      return row;
    }));
    summary.textContent = page.entries.length + ' entries, page ' + historyPage + (page.next ? '' : ' (last)');
    document.getElementById('history-next').disabled = !page.next;
    document.body.dataset.historyLoads = String(++historyLoads);
  }
  document.getElementById('history-form').addEventListener('submit', (event) => {
    event.preventDefault();
    loadHistory(null);
  });
  document.getElementById('history-next').addEventListener('click', () => loadHistory(historyNext));

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
