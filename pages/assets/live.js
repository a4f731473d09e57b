'use strict';
// What both pages share: the live stream (with its stale marker and its
// reconnection), the Italian words for the states, formatting, and the
// JSON API with its errors said in plain Italian.
(function () {
  const C = {};
  window.C = C;

  // Live opens the page's event stream. onState gets each view. The page
  // is marked stale ("dati non aggiornati") while the stream is down,
  // when pings stop, or when the server says its state is old; the
  // stream reconnects by itself (EventSource's retry), and a stream that
  // was refused (a restart with a new session key, a session ended) is
  // tried again once the page itself answers, or sends to the login.
  C.live = function (url, onState) {
    const banner = document.getElementById('stale');
    let offset = 0, lastPing = 0, fresh = 0, retry = null, es = null;
    function mark(stale) {
      banner.hidden = !stale;
      document.body.classList.toggle('is-stale', stale);
    }
    function check() {
      const now = Date.now();
      mark(now - lastPing > 5000 || !fresh || now + offset - fresh > 3000);
    }
    function connect() {
      es = new EventSource(url);
      es.addEventListener('state', (ev) => {
        onState(JSON.parse(ev.data));
      });
      es.addEventListener('ping', (ev) => {
        const p = JSON.parse(ev.data);
        offset = Date.parse(p.now) - Date.now();
        lastPing = Date.now();
        fresh = p.fresh ? Date.parse(p.fresh) : 0;
        check();
      });
      es.onerror = () => {
        lastPing = 0;
        mark(true);
        if (es.readyState === EventSource.CLOSED) {
          es.close();
          probe();
        }
      };
    }
    function probe() {
      clearTimeout(retry);
      retry = setTimeout(async () => {
        try {
          const r = await fetch(location.pathname, { redirect: 'manual', cache: 'no-store' });
          if (r.type === 'opaqueredirect' || r.status === 401 || r.status === 403) {
            location.assign('/login?next=' + encodeURIComponent(location.pathname));
            return;
          }
          if (r.ok) {
            connect();
            return;
          }
        } catch (e) {
          // Not there yet: try again.
        }
        probe();
      }, 2000);
    }
    mark(true);
    setInterval(check, 1000);
    connect();
    return { now: () => Date.now() + offset };
  };

  C.stateNames = {
    logged_out: 'Non in servizio', ready: 'Disponibile', paused: 'In pausa', ringing: 'Squilla',
    busy: 'In conversazione', wrap_up: 'Post-chiamata',
  };
  C.queueNames = { booking: 'Prenotazioni', cancellation: 'Disdette' };
  C.queueName = (q) => C.queueNames[q] || q;
  C.recallReasons = { wait: 'attesa oltre 2 minuti', out_of_hours: 'fuori orario' };
  C.recallStatuses = { pending: 'in attesa dell’orario', queued: 'in coda', dialling: 'in chiamata' };
  C.pauseReasons = { login: 'appena entrato', no_answer: 'non ha risposto', busy: 'telefono occupato', unreachable: 'telefono non raggiungibile', unregistered: 'telefono non registrato' };
  C.pauseReason = (r) => C.pauseReasons[r] || r;

  // el builds an element: attributes (class, text, on… handlers, other
  // attributes), then children (elements or strings). Text is never
  // parsed as HTML.
  C.el = function (tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  };

  // duration says ms as m:ss, or h:mm:ss from an hour.
  C.duration = function (ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
    return (h > 0 ? h + ':' : '') + mm + ':' + String(r).padStart(2, '0');
  };
  const rome = { timeZone: 'Europe/Rome' };
  const fmtDay = new Intl.DateTimeFormat('it-IT', { ...rome, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const fmtTime = new Intl.DateTimeFormat('it-IT', { ...rome, hour: '2-digit', minute: '2-digit' });
  const fmtShort = new Intl.DateTimeFormat('it-IT', { ...rome, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  C.day = (iso) => fmtDay.format(new Date(iso));
  C.time = (iso) => fmtTime.format(new Date(iso));
  C.when = (iso) => fmtShort.format(new Date(iso));
  C.percent = (r) => (r === null || r === undefined ? '—' : (r * 100).toFixed(1).replace('.', ',') + ' %');

  // The API's error codes in plain Italian.
  C.errors = {
    invalid_input: 'Dati non validi: controlla i campi inseriti.',
    prescription_not_found: 'Ricetta non trovata: controlla il codice NRE.',
    booking_not_found: 'Prenotazione non trovata, oppure la data di nascita non corrisponde.',
    too_many_tries: 'Troppi tentativi errati: riprova tra qualche minuto.',
    too_many_holds: 'Hai troppi appuntamenti bloccati: conferma o rilascia quelli aperti.',
    slot_not_found: 'Appuntamento non trovato.',
    service_not_found: 'Prestazione non trovata.',
    identity_mismatch: 'La data di nascita non corrisponde a quella della ricetta.',
    prescription_used: 'Questa ricetta è già stata usata per una prenotazione.',
    urgent_not_self_bookable: 'Ricetta urgente: si prenota solo tramite operatore.',
    service_mismatch: 'L’appuntamento è per un’altra prestazione.',
    slot_in_past: 'L’appuntamento è già iniziato: scegline un altro.',
    not_modifiable: 'La prenotazione non si può più modificare (l’appuntamento è passato o concluso).',
    slot_taken: 'L’appuntamento è appena stato preso da altri: scegline un altro.',
    already_cancelled: 'La prenotazione è già stata disdetta.',
    already_moved: 'La prenotazione è già stata spostata.',
    hold_expired: 'Il tempo per confermare è scaduto: l’appuntamento è stato rilasciato.',
    unauthorized: 'Sessione scaduta: accedi di nuovo.',
    forbidden: 'Operazione non consentita al tuo profilo.',
    not_logged_in: 'Non sei in servizio: entra nelle code.',
    not_allowed: 'Operazione non consentita nello stato attuale.',
    no_phone: 'Nessun telefono è configurato per il tuo utente: rivolgiti al responsabile.',
    phone_unregistered: 'Il tuo telefono non è registrato: accendilo o ricollegalo, poi riprova.',
    not_your_call: 'La chiamata non è più la tua.',
    recall_masked: 'Il numero di una richiamata resta riservato.',
    internal: 'Errore del sistema: riprova tra poco.',
  };

  // ApiError is a refused request, with its message in Italian.
  class ApiError extends Error {
    constructor(code, status) {
      super(C.errors[code] || 'Richiesta non riuscita (' + status + '): riprova.');
      this.code = code;
      this.status = status;
    }
  }
  C.ApiError = ApiError;

  // api sends a JSON request and returns the JSON answer (null for 204);
  // a refusal throws an ApiError.
  C.api = async function (method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, opts);
    } catch (e) {
      throw new ApiError('network', 0);
    }
    if (resp.status === 204) return null;
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) throw new ApiError(data && data.error, resp.status);
    return data;
  };
  C.errors.network = 'Collegamento al server non riuscito: riprova.';
})();
