'use strict';
// The login form: POST /login, then back to the page asked for.
(function () {
  const form = document.getElementById('login');
  const error = document.getElementById('error');
  const next = new URLSearchParams(location.search).get('next') || '';
  const target = next.startsWith('/') && !next.startsWith('//') ? next : '/';
  const messages = {
    400: 'Inserisci nome utente e password.',
    401: 'Nome utente o password errati.',
    429: 'Troppi tentativi errati: riprova tra un minuto.',
  };
  function show(msg) {
    error.textContent = msg;
    error.hidden = false;
    document.getElementById('password').select();
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    let resp;
    try {
      resp = await fetch('/login', { method: 'POST', body: new URLSearchParams(new FormData(form)), credentials: 'same-origin' });
    } catch (e) {
      show('Collegamento al server non riuscito: riprova.');
      return;
    }
    if (resp.status === 204) {
      location.assign(target);
      return;
    }
    show(messages[resp.status] || 'Accesso non riuscito: riprova.');
  });
})();
