'use strict';
// The sign-out button: POST /logout, then the login page.
(function () {
  const b = document.getElementById('signout');
  if (!b) return;
  b.addEventListener('click', async () => {
    try {
      await fetch('/logout', { method: 'POST', credentials: 'same-origin' });
    } finally {
      location.assign('/login');
    }
  });
})();
