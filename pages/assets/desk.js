'use strict';
// The agent desktop: the agent's state and its controls, the screen-pop
// of the caller in front, the booking operations for that caller through
// the booking API, and the recalls.
(function () {
  const { el } = C;
  const $ = (id) => document.getElementById(id);
  const allQueues = (document.body.dataset.queues || '').split(',').filter(Boolean);
  const pauses = ['Pausa breve', 'Pausa pranzo', 'Riunione', 'Formazione', 'Attività di back office'];
  const priorities = { U: 'U — urgente', B: 'B — breve', D: 'D — differibile', P: 'P — programmata' };
  const handoffs = {
    asked: 'ha chiesto un operatore', urgent: 'ricetta urgente (U): si prenota solo con operatore',
    tries: 'non è riuscito a usare il menu', no_slots: 'nessun appuntamento disponibile in automatico',
    recovered: 'ripresa dopo un riavvio del sistema',
  };
  const statuses = { booked: 'prenotata', cancelled: 'disdetta', moved: 'spostata', attended: 'eseguita', no_show: 'non presentato' };

  let view = null; // the latest view from the stream
  let lastCall = null; // the call shown, kept through the wrap-up
  let shownControls = '';
  let shownCall = '';
  const revealed = {}; // call id → number in clear, once revealed

  function notice(msg) {
    $('notice').textContent = msg || '';
    $('notice').hidden = !msg;
  }

  // --- State and controls ------------------------------------------------

  async function act(path, body) {
    notice('');
    try {
      await C.api('POST', '/api/v1/agent/' + path, body);
    } catch (e) {
      notice(e.message);
    }
  }

  function renderControls() {
    const key = view.state + '|' + view.queues.join(',');
    if (key === shownControls) return;
    shownControls = key;
    const box = $('controls');
    box.replaceChildren();
    const s = view.state;
    if (s === 'logged_out') {
      const boxes = allQueues.map((q) => el('label', { class: 'check' },
        el('input', { type: 'checkbox', name: 'queue', value: q, checked: true }), ' ' + C.queueName(q)));
      box.append(el('fieldset', { class: 'queues' }, el('legend', { text: 'Code' }), boxes),
        el('button', { id: 'login-queues', onclick: () => {
          const queues = [...box.querySelectorAll('input[name=queue]:checked')].map((i) => i.value);
          if (queues.length === 0) {
            notice('Scegli almeno una coda.');
            return;
          }
          act('login', { queues });
        } }, 'Entra in servizio'));
      return;
    }
    if (s === 'ringing' || s === 'busy') {
      box.append(el('span', { class: 'reason', text: 'Al telefono' }));
      return;
    }
    if (s === 'paused' || s === 'wrap_up') {
      box.append(el('button', { id: 'ready', onclick: () => act('ready') }, 'Pronto'));
    }
    const reason = el('select', { id: 'pause-reason', 'aria-label': 'Motivo della pausa' },
      pauses.map((p) => el('option', { value: p, text: p })));
    box.append(reason, el('button', { id: 'pause', class: 'secondary', onclick: () => act('pause', { reason: reason.value }) }, 'Pausa'),
      el('button', { id: 'logout-queues', class: 'secondary', onclick: () => act('logout') }, 'Esci dalle code'));
  }

  function tick() {
    if (!view) return;
    const now = live.now();
    $('state-label').textContent = C.stateNames[view.state] || view.state;
    $('state-label').dataset.state = view.state;
    let time = '';
    if (view.state === 'wrap_up' && view.until) {
      time = 'rimangono ' + C.duration(Date.parse(view.until) - now);
    } else if (view.since && view.state !== 'logged_out') {
      time = C.duration(now - Date.parse(view.since));
    }
    $('state-time').textContent = time;
    $('state-reason').textContent = view.state === 'paused' && view.reason ? '(' + C.pauseReason(view.reason) + ')' : '';
  }

  // --- The screen-pop ------------------------------------------------------

  function row(label, ...value) {
    return [el('dt', { text: label }), el('dd', {}, ...value)];
  }

  function callerValue(c) {
    if (c.withheld) return ['Anonimo (numero non disponibile)'];
    if (c.recall) return [el('span', { id: 'caller', text: c.caller }), ' (richiamata: il numero resta riservato)'];
    if (revealed[c.call_id]) return [el('span', { id: 'caller', text: revealed[c.call_id] })];
    return [el('span', { id: 'caller', text: c.caller }), ' ', el('button', { id: 'reveal', class: 'link', onclick: async () => {
      try {
        const r = await C.api('POST', '/desk/reveal', { call_id: c.call_id });
        revealed[c.call_id] = r.caller;
        renderCall();
      } catch (e) {
        notice(e.message);
      }
    } }, 'Mostra numero')];
  }

  function prescription(c) {
    if (!c.nre) return [];
    const out = [el('h3', { text: 'Ricetta ' + c.nre })];
    if (c.lookup_error) {
      out.push(el('p', { class: 'warn', text: c.lookup_error === 'not_found'
        ? 'Il codice digitato non corrisponde a nessuna ricetta.' : 'Dati della ricetta non disponibili al momento.' }));
      return out;
    }
    const p = c.prescription;
    if (!p) return out;
    out.push(el('dl', { class: 'facts' },
      row('Prestazione', el('strong', { id: 'service', text: p.service.name })),
      row('Priorità', priorities[p.prescription.priority] || p.prescription.priority),
      row('Da erogare entro', C.day(p.deadline)),
      row('Prescritta il', C.day(p.prescription.prescribed_on))));
    if (p.used) out.push(el('p', { class: 'warn', text: 'Questa ricetta è già stata usata per una prenotazione.' }));
    return out;
  }

  function describeSlot(s) {
    return C.day(s.starts_at) + ' alle ' + C.time(s.starts_at) + ' — ' + s.site.short_name + ', ' + s.site.address + ', ' + s.site.city;
  }

  function keyedBooking(c) {
    if (!c.booking_number) return [];
    const out = [el('h3', { text: 'Prenotazione ' + c.booking_number })];
    if (c.lookup_error) {
      out.push(el('p', { class: 'warn', text: c.lookup_error === 'not_found'
        ? 'Il numero digitato non corrisponde a nessuna prenotazione.' : 'Dati della prenotazione non disponibili al momento.' }));
      return out;
    }
    const b = c.booking;
    if (!b) return out;
    out.push(el('dl', { class: 'facts' },
      row('Prestazione', el('strong', { text: b.service.name })),
      row('Appuntamento', describeSlot(b.slot)),
      row('Stato', statuses[b.status] || b.status)));
    return out;
  }

  function renderCall() {
    if (view.call) lastCall = view.call;
    else if (view.state !== 'wrap_up') lastCall = null;
    const c = lastCall;
    const box = $('call-body');
    const title = $('call-title');
    if (!c) {
      title.textContent = 'Chiamata';
      box.replaceChildren(el('p', { class: 'empty', text: 'Nessuna chiamata in corso.' }));
      return;
    }
    if (c.call_id !== shownCall) {
      shownCall = c.call_id;
      newCaller(c);
    }
    title.textContent = { ringing: 'Chiamata in arrivo', busy: 'In conversazione' }[view.state] || 'Chiamata terminata';
    const kind = c.recall
      ? 'Richiamata (' + (C.recallReasons[c.recall_reason] || c.recall_reason) + ')'
      : 'Chiamata in arrivo';
    const facts = [
      row('Numero', ...callerValue(c)),
      row('Tipo', el('span', { id: 'call-kind', text: kind })),
      row('Coda', C.queueName(c.queue)),
      row('Attesa', el('span', { id: 'waited', text: C.duration(c.waited_s * 1000) })),
    ];
    if (c.recall) {
      if (c.requested_at) facts.push(row('Richiesta', C.when(c.requested_at)));
      if (c.waited_before_s) facts.push(row('Attesa prima della richiesta', C.duration(c.waited_before_s * 1000)));
    } else if (c.handoff) {
      facts.push(row('Trasferita perché', handoffs[c.handoff] || c.handoff));
    }
    const keyed = [];
    if (c.nre) keyed.push('NRE ' + c.nre);
    if (c.booking_number) keyed.push('prenotazione ' + c.booking_number);
    facts.push(row('Digitato', keyed.length ? keyed.join(', ') : 'niente'));
    box.replaceChildren(el('dl', { class: 'facts' }, facts), ...prescription(c), ...keyedBooking(c));
  }

  // newCaller readies the booking forms for the caller who just came in.
  function newCaller(c) {
    $('nre').value = c.nre || '';
    $('number').value = c.booking_number || '';
    $('birth').value = '';
    $('manage-birth').value = '';
    search = null;
    held = null;
    managed = null;
    bookingError('');
    $('booking-body').replaceChildren();
  }

  // --- Booking for the caller ---------------------------------------------

  let search = null; // slots offered: {mode: 'book'|'move', nre, birth, number, service, deadline, slots}
  let held = null; // {token, slot, expires}
  let managed = null; // a booking found: {booking, birth}

  function bookingError(msg) {
    $('booking-error').textContent = msg || '';
    $('booking-error').hidden = !msg;
  }

  // birthDate reads gg/mm/aaaa (or ggmmaaaa, or aaaa-mm-gg) as aaaa-mm-gg.
  function birthDate(id) {
    const s = $(id).value.trim();
    let m = s.match(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/) || s.match(/^(\d{2})(\d{2})(\d{4})$/);
    if (m) return m[3] + '-' + m[2].padStart(2, '0') + '-' + m[1].padStart(2, '0');
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
    bookingError('Data di nascita non valida: scrivila come gg/mm/aaaa.');
    $(id).focus();
    return null;
  }

  async function guarded(f) {
    bookingError('');
    try {
      await f();
    } catch (e) {
      if (!(e instanceof C.ApiError)) throw e;
      bookingError(e.message);
      if (e.code === 'hold_expired' || e.code === 'slot_taken') {
        held = null;
        renderSearch();
      }
    }
  }

  $('find').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const nre = $('nre').value.trim().toUpperCase();
    if (!nre) {
      bookingError('Scrivi il codice NRE della ricetta.');
      $('nre').focus();
      return;
    }
    const birth = birthDate('birth');
    if (!birth) return;
    guarded(async () => {
      await release();
      const av = await C.api('GET', '/api/v1/prescriptions/' + encodeURIComponent(nre) + '/availability?limit=5&birth_date=' + birth);
      search = { mode: 'book', nre, birth, service: av.service, priority: av.prescription.priority, deadline: av.deadline, slots: av.slots };
      renderSearch();
    });
  });

  $('manage').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const number = $('number').value.replace(/\D/g, '');
    if (number.length !== 12) {
      bookingError('Il numero di prenotazione ha 12 cifre.');
      $('number').focus();
      return;
    }
    const birth = birthDate('manage-birth');
    if (!birth) return;
    guarded(async () => {
      await release();
      const b = await C.api('GET', '/api/v1/bookings/' + number);
      managed = { booking: b, birth };
      search = null;
      renderManaged();
    });
  });

  function slotList(slots) {
    return el('ol', { class: 'slots' }, slots.map((s, i) => el('li', {},
      el('span', { class: 'slot-text', text: describeSlot(s) + (s.within_deadline ? '' : ' (oltre i tempi della priorità)') }), ' ',
      el('button', { class: 'slot-hold', 'data-slot': s.id, 'aria-label': 'Proponi l’appuntamento ' + (i + 1) + ': ' + describeSlot(s),
        onclick: () => guarded(() => propose(s)) }, 'Proponi'))));
  }

  function renderSearch() {
    const box = $('booking-body');
    if (!search) {
      box.replaceChildren();
      return;
    }
    if (held) {
      renderHeld();
      return;
    }
    const head = [el('h3', { text: (search.mode === 'move' ? 'Spostamento: ' : '') + search.service.name })];
    if (search.deadline) head.push(el('p', { text: 'Priorità ' + (priorities[search.priority] || '—') + ', entro ' + C.day(search.deadline) }));
    if (search.slots.length === 0) {
      box.replaceChildren(...head, el('p', { class: 'warn', text: 'Nessun appuntamento disponibile.' }));
      return;
    }
    box.replaceChildren(...head, slotList(search.slots),
      el('button', { id: 'more', class: 'secondary', onclick: () => guarded(more) }, 'Altri appuntamenti'));
  }

  async function more() {
    const last = search.slots[search.slots.length - 1];
    let path = '/api/v1/slots/' + last.id + '/next?limit=5';
    if (search.deadline) path += '&deadline=' + encodeURIComponent(search.deadline);
    const r = await C.api('GET', path);
    if (r.slots.length === 0) {
      bookingError('Non ci sono altri appuntamenti.');
      return;
    }
    search.slots = r.slots;
    renderSearch();
  }

  async function propose(slot) {
    await release();
    const h = await C.api('POST', '/api/v1/holds', { slot_id: slot.id });
    held = { token: h.token, slot, expires: h.expires_at };
    renderHeld();
  }

  async function release() {
    if (!held) return;
    const token = held.token;
    held = null;
    try {
      await C.api('DELETE', '/api/v1/holds/' + token);
    } catch (e) {
      // An expired hold is free already.
    }
  }

  function renderHeld() {
    const box = $('booking-body');
    const move = search.mode === 'move';
    const phone = el('input', { id: 'sms-phone', inputmode: 'tel', autocomplete: 'off', size: 14 });
    const caller = lastCall && revealed[lastCall.call_id];
    if (caller && /^\+393/.test(caller)) phone.value = caller;
    const parts = [el('h3', { text: 'Appuntamento proposto' }),
      el('p', { id: 'held-slot', text: search.service.name + ': ' + describeSlot(held.slot) }),
      el('p', { text: 'Tenuto per il chiamante fino alle ' + C.time(held.expires) + '.' })];
    if (!move) parts.push(el('div', {}, el('label', { for: 'sms-phone', text: 'Cellulare per l’SMS di conferma (facoltativo)' }), phone));
    parts.push(el('div', { class: 'buttons' },
      el('button', { id: 'confirm', onclick: () => guarded(() => confirm(phone.value)) }, move ? 'Conferma spostamento' : 'Conferma prenotazione'),
      el('button', { id: 'release', class: 'secondary', onclick: () => guarded(async () => {
        await release();
        renderSearch();
      }) }, 'Rilascia')));
    box.replaceChildren(...parts);
    $('confirm').focus();
  }

  function mobile(s) {
    const d = s.replace(/[\s.-]/g, '');
    if (!d) return '';
    if (d.startsWith('+')) return d;
    if (d.startsWith('00')) return '+' + d.slice(2);
    return '+39' + d;
  }

  async function confirm(phone) {
    let b;
    const move = search.mode === 'move';
    if (move) {
      b = await C.api('POST', '/api/v1/bookings/' + search.number + '/move', { birth_date: search.birth, hold_token: held.token });
    } else {
      const req = { hold_token: held.token, nre: search.nre, birth_date: search.birth };
      if (mobile(phone)) req.phone = mobile(phone);
      b = await C.api('POST', '/api/v1/bookings', req);
    }
    held = null;
    search = null;
    renderDone(b, move ? 'Spostamento confermato' : 'Prenotazione confermata');
  }

  const groups = (s, n) => s.replace(new RegExp('(\\d{' + n + '})(?=\\d)', 'g'), '$1 ');

  // renderDone shows what to read out: the booking number, or the
  // cancellation code.
  function renderDone(b, title) {
    managed = null;
    const box = $('booking-body');
    const parts = [el('h3', { id: 'done-title', text: title })];
    if (b.status === 'cancelled') {
      parts.push(el('p', { text: 'Codice di disdetta da leggere al cittadino:' }),
        el('p', { class: 'readout', id: 'cancellation-code', text: groups(b.cancellation_code, 4) }));
    } else {
      parts.push(el('p', { text: 'Numero di prenotazione da leggere al cittadino:' }),
        el('p', { class: 'readout', id: 'booking-number', text: groups(b.number, 4) }));
    }
    parts.push(el('p', { text: b.service.name + ': ' + describeSlot(b.slot) }));
    box.replaceChildren(...parts);
  }

  function renderManaged() {
    const b = managed.booking;
    const box = $('booking-body');
    const parts = [el('h3', { text: 'Prenotazione ' + groups(b.number, 4) }),
      el('dl', { class: 'facts' }, row('Prestazione', b.service.name), row('Appuntamento', describeSlot(b.slot)),
        row('Stato', statuses[b.status] || b.status))];
    if (b.status === 'booked') {
      const cancel = el('button', { id: 'cancel', class: 'danger', onclick: () => {
        if (cancel.dataset.armed !== '1') {
          cancel.dataset.armed = '1';
          cancel.textContent = 'Conferma la disdetta';
          return;
        }
        guarded(async () => {
          const c = await C.api('POST', '/api/v1/bookings/' + b.number + '/cancellation', { birth_date: managed.birth });
          renderDone(c, 'Disdetta confermata');
        });
      } }, 'Disdici');
      parts.push(el('div', { class: 'buttons' }, cancel,
        el('button', { id: 'move', class: 'secondary', onclick: () => guarded(async () => {
          const r = await C.api('GET', '/api/v1/slots/' + b.slot.id + '/next?limit=5');
          search = { mode: 'move', number: b.number, birth: managed.birth, service: b.service, slots: r.slots };
          renderSearch();
        }) }, 'Sposta')));
    }
    box.replaceChildren(...parts);
  }

  // --- Recalls ---------------------------------------------------------------

  function recallItem(r) {
    const bits = [C.recallReasons[r.reason] || r.reason, C.queueName(r.queue), 'chiesta ' + C.when(r.requested_at),
      C.recallStatuses[r.status] || r.status];
    if (r.place) bits.push('posizione ' + r.place);
    if (r.attempts) bits.push('tentativi ' + r.attempts);
    return el('li', {}, el('span', { class: 'mono', text: r.phone }), ' — ' + bits.join(' · '));
  }

  function renderRecalls() {
    const box = $('recalls-body');
    const parts = [];
    if (view.recalls_mine.length) parts.push(el('h3', { text: 'In chiamata per te' }), el('ul', {}, view.recalls_mine.map(recallItem)));
    if (view.recalls_pending.length) {
      parts.push(el('h3', { text: 'In attesa nelle tue code' }), el('ul', { id: 'recalls-pending' }, view.recalls_pending.map(recallItem)));
    }
    if (!parts.length) parts.push(el('p', { class: 'empty', text: 'Nessuna richiamata.' }));
    box.replaceChildren(...parts);
  }

  const live = C.live('/desk/events', (v) => {
    view = v;
    renderControls();
    tick();
    renderCall();
    renderRecalls();
  });
  setInterval(tick, 1000);
})();
