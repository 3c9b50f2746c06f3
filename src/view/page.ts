/**
 * The live view's page: one HTML document with its style and script
 * inline, so it needs nothing from the network but its own server's
 * `/events` stream. Written with String.raw so the script's backslashes
 * stay as written; it uses no template literals of its own.
 */
export function renderPage(title: string): string {
  return PAGE.replaceAll('__TITLE__', escapeHtml(title));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const PAGE = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  :root { --unclaimed: #d97706; --claimed: #2563eb; --complete: #16a34a; --muted: #6b7280; --line: #e5e7eb; --bg: #f9fafb; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; background: var(--bg); }
  header { display: flex; align-items: center; gap: 12px; padding: 12px 20px; background: #111827; color: #f9fafb; }
  header h1 { font-size: 16px; margin: 0; font-weight: 600; }
  header .at { margin-left: auto; color: #9ca3af; font-variant-numeric: tabular-nums; }
  .dot { width: 10px; height: 10px; border-radius: 50%; background: #9ca3af; display: inline-block; }
  .dot.live { background: #22c55e; } .dot.down { background: #ef4444; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 10px; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { font-weight: 500; color: var(--muted); font-size: 12px; }
  td.n, th.n { text-align: right; }
  .badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; }
  .badge.active, .badge.owned { background: var(--complete); } .badge.inactive, .badge.none { background: #9ca3af; }
  .counts { display: flex; gap: 12px; margin-bottom: 10px; }
  .count { flex: 1; border-radius: 6px; padding: 8px 10px; background: var(--bg); }
  .count b { display: block; font-size: 26px; font-variant-numeric: tabular-nums; }
  .count.unclaimed b { color: var(--unclaimed); } .count.claimed b { color: var(--claimed); } .count.complete b { color: var(--complete); }
  .bar { display: flex; height: 10px; border-radius: 5px; overflow: hidden; background: var(--line); min-width: 80px; }
  .bar span { display: block; height: 100%; }
  .s-unclaimed { background: var(--unclaimed); } .s-claimed { background: var(--claimed); } .s-complete { background: var(--complete); }
  .t-unclaimed { color: var(--unclaimed); } .t-claimed { color: var(--claimed); } .t-complete { color: var(--complete); }
  #feed { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow-y: auto; font: 12px/1.6 ui-monospace, SFMono-Regular, Menlo, monospace; }
  #feed li { display: grid; grid-template-columns: 80px 70px 90px 200px 170px 1fr; gap: 8px; border-bottom: 1px solid var(--line); }
  #feed li.fresh { animation: fresh 1.5s ease-out; }
  @keyframes fresh { from { background: #fef9c3; } to { background: transparent; } }
  .muted { color: var(--muted); }
  #problem { display: none; margin: 12px 20px 0; padding: 8px 12px; border-radius: 6px; background: #fee2e2; color: #991b1b; }
</style>
</head>
<body>
<header>
  <span class="dot" id="status" data-testid="status" title="connecting"></span>
  <h1>__TITLE__</h1>
  <span class="at" id="at" data-testid="at"></span>
</header>
<div id="problem" data-testid="problem"></div>
<main>
  <section>
    <h2>Masters</h2>
    <table><thead><tr><th>master</th><th>id</th><th>state</th><th>last active</th></tr></thead>
    <tbody id="masters" data-testid="masters"></tbody></table>
  </section>
  <section>
    <h2>Build requests</h2>
    <div class="counts">
      <div class="count unclaimed"><b data-testid="count-unclaimed" id="count-unclaimed">0</b>unclaimed</div>
      <div class="count claimed"><b data-testid="count-claimed" id="count-claimed">0</b>claimed</div>
      <div class="count complete"><b data-testid="count-complete" id="count-complete">0</b>complete</div>
    </div>
    <div class="bar" id="bar-all"></div>
    <p class="muted"><span data-testid="count-total" id="count-total">0</span> in the store</p>
  </section>
  <section>
    <h2>By builder</h2>
    <table><thead><tr><th>builder</th><th class="n">unclaimed</th><th class="n">claimed</th><th class="n">complete</th><th></th></tr></thead>
    <tbody id="builders" data-testid="builders"></tbody></table>
  </section>
  <section>
    <h2>Change sources</h2>
    <table><thead><tr><th>change source</th><th>id</th><th>owner</th></tr></thead>
    <tbody id="changesources" data-testid="changesources"></tbody></table>
  </section>
  <section class="wide">
    <h2>Transitions <span class="muted" id="feed-count"></span></h2>
    <ul id="feed" data-testid="feed"></ul>
  </section>
</main>
<script>
(function () {
  'use strict';
  var FEED_ROWS = 150;
  var masterNames = {};
  var lastSeq = 0;
  var seen = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'cls') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function td(text, cls) { return el('td', { text: String(text), cls: cls || '' }); }
  function replace(id, rows) {
    var body = document.getElementById(id);
    body.replaceChildren.apply(body, rows);
  }
  function clock(iso) { return iso ? iso.slice(11, 19) : ''; }
  function ago(iso, nowIso) {
    var s = Math.round((Date.parse(nowIso) - Date.parse(iso)) / 1000);
    if (!(s >= 0)) return '';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min ago';
  }
  function bar(counts) {
    var total = counts.unclaimed + counts.claimed + counts.complete;
    var node = el('div', { cls: 'bar' });
    ['unclaimed', 'claimed', 'complete'].forEach(function (s) {
      if (total > 0 && counts[s] > 0) node.appendChild(el('span', { cls: 's-' + s, style: 'width:' + (100 * counts[s] / total) + '%' }));
    });
    return node;
  }
  function masterName(id) { return id === null || id === undefined ? '' : (masterNames[id] || '#' + id); }

  function showSummary(s) {
    masterNames = {};
    s.masters.forEach(function (m) { masterNames[m.id] = m.name; });
    // Transitions shown before the first summary named masters by id.
    document.querySelectorAll('#feed .who').forEach(function (node) {
      var id = node.getAttribute('data-masterid');
      if (id) node.textContent = masterName(Number(id));
    });
    document.getElementById('at').textContent = s.at.replace('T', ' ').slice(0, 19);
    replace('masters', s.masters.map(function (m) {
      var row = el('tr', { 'data-name': m.name, 'data-active': String(m.active) }, [
        td(m.name), td(m.id),
        el('td', {}, [el('span', { cls: 'badge ' + (m.active ? 'active' : 'inactive'), text: m.active ? 'active' : 'inactive' })]),
        el('td', { text: clock(m.last_active) + '  ', title: m.last_active }, [el('span', { cls: 'muted', text: ago(m.last_active, s.at) })]),
      ]);
      return row;
    }));
    var r = s.requests;
    ['unclaimed', 'claimed', 'complete', 'total'].forEach(function (k) { document.getElementById('count-' + k).textContent = String(r[k]); });
    var all = document.getElementById('bar-all');
    all.replaceWith(Object.assign(bar(r), { id: 'bar-all' }));
    replace('builders', r.byBuilder.map(function (b) {
      return el('tr', { 'data-builder': b.buildername }, [
        td(b.buildername), td(b.unclaimed, 'n t-unclaimed'), td(b.claimed, 'n t-claimed'), td(b.complete, 'n t-complete'),
        el('td', {}, [bar(b)]),
      ]);
    }));
    replace('changesources', s.changeSources.map(function (cs) {
      return el('tr', { 'data-name': cs.name }, [
        td(cs.name), td(cs.id),
        el('td', {}, [el('span', { cls: 'badge ' + (cs.master === null && cs.masterid === null ? 'none' : 'owned'), text: cs.masterid === null ? 'none' : (cs.master || 'master ' + cs.masterid) })]),
      ]);
    }));
  }

  function addTransition(t, fresh) {
    if (t.seq <= lastSeq) return;
    lastSeq = t.seq;
    seen++;
    var feed = document.getElementById('feed');
    var item = el('li', { cls: fresh ? 'fresh' : '', 'data-actor': t.actor, 'data-event': t.event, 'data-to': t.to, 'data-source': t.source || 'actor' }, [
      el('span', { cls: 'muted', text: clock(t.at) }),
      el('span', { text: t.actor }),
      el('span', { text: t.label }),
      el('span', {}, [
        el('span', { cls: 't-' + (t.from || ''), text: t.from || '·' }),
        document.createTextNode(' \u2192 '),
        el('span', { cls: 't-' + t.to, text: t.to }),
      ]),
      t.source === 'store'
        ? el('span', { cls: 'muted', text: t.event + ' \u00b7 store', title: 'seen by reading the store: the step of a master in any process' })
        : el('span', { cls: 'muted', text: t.event }),
      el('span', { cls: 'who', 'data-masterid': t.masterid === null ? '' : String(t.masterid), text: masterName(t.masterid) }),
    ]);
    feed.insertBefore(item, feed.firstChild);
    while (feed.childNodes.length > FEED_ROWS) feed.removeChild(feed.lastChild);
    document.getElementById('feed-count').textContent = '(' + seen + ' seen)';
  }

  function setStatus(state, text) {
    var dot = document.getElementById('status');
    dot.className = 'dot ' + state;
    dot.title = text;
    dot.setAttribute('data-state', state);
  }

  var source = new EventSource('events');
  source.onopen = function () { setStatus('live', 'connected'); };
  source.onerror = function () { setStatus('down', 'reconnecting'); };
  source.addEventListener('summary', function (e) {
    document.getElementById('problem').style.display = 'none';
    showSummary(JSON.parse(e.data));
  });
  source.addEventListener('transitions', function (e) {
    JSON.parse(e.data).forEach(function (t) { addTransition(t, false); });
  });
  source.addEventListener('transition', function (e) { addTransition(JSON.parse(e.data), true); });
  source.addEventListener('problem', function (e) {
    var box = document.getElementById('problem');
    box.textContent = JSON.parse(e.data).message;
    box.style.display = 'block';
  });
})();
</script>
</body>
</html>
`;
