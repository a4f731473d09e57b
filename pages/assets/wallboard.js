'use strict';
// The wallboard: per queue the callers waiting and the longest wait, the
// agents by state, today's service level, abandoned and ASA, the recalls
// pending, the SMS failed today and the links to Asterisk.
(function () {
  const { el } = C;
  const $ = (id) => document.getElementById(id);
  let view = null;
  const order = ['ready', 'ringing', 'busy', 'wrap_up', 'paused'];

  function tile(id, label, value, extra) {
    return el('div', { class: 'tile', id }, el('span', { class: 'label', text: label }),
      el('span', { class: 'value', text: value }), extra ? el('span', { class: 'extra', text: extra }) : null);
  }

  function tick() {
    const now = live.now();
    $('clock').textContent = C.time(new Date(now).toISOString());
    if (!view) return;
    $('queues').replaceChildren(...view.queues.map((q) => el('div', { class: 'tile queue' + (q.waiting > 0 ? ' busy' : ''), 'data-queue': q.name },
      el('span', { class: 'label', text: C.queueName(q.name) }),
      el('span', { class: 'value', id: 'waiting-' + q.name, text: String(q.waiting) }),
      el('span', { class: 'extra', text: 'in attesa' }),
      el('span', { class: 'extra', id: 'longest-' + q.name,
        text: q.longest_since ? 'attesa più lunga ' + C.duration(now - Date.parse(q.longest_since)) : 'nessuno in attesa' }))));
    for (const a of view.agents) {
      const cell = document.querySelector('tr[data-agent="' + CSS.escape(a.name) + '"] .since');
      if (!cell) continue;
      cell.textContent = a.state === 'wrap_up' && a.until
        ? 'rimangono ' + C.duration(Date.parse(a.until) - now) : C.duration(now - Date.parse(a.since));
    }
    const recalls = view.today ? view.today.recalls_pending : {};
    $('recalls').replaceChildren(...['wait', 'out_of_hours'].map((r) => {
      const p = recalls[r];
      return el('li', { 'data-reason': r }, el('strong', { text: (p ? p.count : 0) + ' ' }), C.recallReasons[r],
        p ? ' — la più vecchia da ' + C.duration(now - Date.parse(p.oldest_at)) : '');
    }));
  }

  function render() {
    const f = view.today ? view.today.figures : null;
    $('kpis').replaceChildren(
      tile('sl30', 'Risposte entro 30 s', f ? C.percent(f.service_level_30s) : '—', 'oggi'),
      tile('sl60', 'Risposte entro 60 s', f ? C.percent(f.service_level_60s) : '—', 'oggi'),
      tile('abandoned', 'Abbandonate', f ? C.percent(f.abandoned_ratio) : '—', 'oggi'),
      tile('asa', 'Attesa media di risposta', f && f.asa_s !== null ? C.duration(f.asa_s * 1000) : '—', 'oggi'),
      tile('calls', 'Chiamate', f ? String(f.calls) : '—', 'oggi'));
    const agents = [...view.agents].sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || a.name.localeCompare(b.name));
    $('agents-body').replaceChildren(...agents.map((a) => el('tr', { 'data-agent': a.name, 'data-state': a.state },
      el('th', { scope: 'row', text: a.name }),
      el('td', { class: 'state' }, el('span', { class: 'badge', 'data-state': a.state, text: C.stateNames[a.state] || a.state }),
        a.state === 'paused' && a.reason ? ' ' + C.pauseReason(a.reason) : ''),
      el('td', { class: 'since timer' }),
      el('td', { text: (a.queues || []).map(C.queueName).join(', ') }))));
    const counts = {};
    for (const a of view.agents) counts[a.state] = (counts[a.state] || 0) + 1;
    $('agents-summary').textContent = order.filter((s) => counts[s]).map((s) => C.stateNames[s] + ': ' + counts[s]).join(' · ')
      || 'Nessun operatore in servizio.';
    $('sms-failed').textContent = view.today ? String(view.today.sms_failed) : '—';
    $('ari').replaceChildren(...(view.ari.length ? view.ari.map((l) => el('li', { 'data-instance': l.instance },
      el('span', { class: 'badge', 'data-state': l.connected ? 'ready' : 'down', text: l.connected ? 'Collegato' : 'Non collegato' }),
      ' ' + l.instance)) : [el('li', { text: 'Nessuna istanza attiva.' })]));
    tick();
  }

  const live = C.live('/wallboard/events', (v) => {
    view = v;
    render();
  });
  setInterval(tick, 1000);
})();
