"""The little JavaScript the page runs: what Gradio offers no component or event for."""

# After a question is accepted: bring it to the top of the answer box once. The box does not
# follow the stream (autoscroll off), so the status, safety notices and quotes at the top of
# the answer stay in view while the model writes below them.
SCROLL_TO_QUESTION = """() => {
  const rows = document.querySelectorAll('#answers .user-row');
  if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'start'});
}"""

# Citation links ([n], Sources) in answers open the page beside the answer: the click goes to a
# hidden text box whose input event the server handles (app.answer.rendering.citation_anchor).
OPEN_CITATION_LINKS = """() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest('#answers a[href^="#cite-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const box = document.querySelector('#open-citation textarea');
    box.value = link.getAttribute('href').slice(1) + ':' + Date.now();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    // on a phone the page sits below the answers: bring it up once it has arrived (scroll
    // back for the answer); at once when a page is open already (the answer's first cited
    // page opens by itself: tapping it changes nothing that could be waited for)
    if (window.innerWidth < 700) {
      const shown = () => document.querySelector('#preview img')?.getAttribute('src');
      const before = shown();
      if (before) {
        document.querySelector('#preview').scrollIntoView({block: 'start'});
        return;
      }
      const started = Date.now();
      const timer = setInterval(() => {
        if (shown() !== before || Date.now() - started > 5000) {
          clearInterval(timer);
          document.querySelector('#preview').scrollIntoView({block: 'start'});
        }
      }, 100);
    }
  }, true);
}"""

# The open incident's id goes into the address (?incident=12): a reload reopens it, a new tab
# starts empty. Runs after every change of the conversation (its id is the input).
REMEMBER_INCIDENT = """(id) => {
  const url = new URL(window.location.href);
  if (id === null || id === undefined) url.searchParams.delete('incident');
  else url.searchParams.set('incident', String(id));
  window.history.replaceState(null, '', url);
}"""

# Gradio's sign-in form reacts to 400 (wrong password) and 200 only: the guard's 429 ("Too
# many failed sign-ins: try again in N s.") left the page silent, so operators kept trying and
# lengthened their wait; so would its 503 (the directory does not answer) and 403 (a directory
# account in no PlantOps group). Put into the sign-in page by the guard (guard._with_script).
SAY_SIGN_IN_WAIT = """<script>
(() => {
  const fetched = window.fetch;
  window.fetch = async (...args) => {
    const response = await fetched(...args);
    const target = args[0] instanceof Request ? args[0].url : String(args[0]);
    if (!new URL(target, location.href).pathname.endsWith('/login')) return response;
    const wrong = document.querySelector('p.creds');  // Gradio's "Incorrect Credentials"
    const said = [403, 429, 503].includes(response.status);  // the guard's own refusals
    if (wrong) wrong.style.display = said ? 'none' : '';
    if (!said) {
      document.getElementById('sign-in-wait')?.remove();
    } else {
      const body = await response.clone().json().catch(() => ({}));
      let note = document.getElementById('sign-in-wait');
      if (!note) {
        note = document.createElement('p');
        note.id = 'sign-in-wait';
        note.setAttribute('role', 'alert');
        note.style.cssText = 'color:#b42318;font-weight:600;margin:0.5em 0';
        const form = document.querySelector('h2')?.parentElement || document.body;
        form.insertBefore(note, form.children[1] || null);
      }
      note.textContent = body.detail || 'Sign-in refused: wait a minute and try again.';
    }
    return response;
  };
})();
</script>"""

# A Search card tapped on a phone: its page opens below the list, out of sight; show it.
SHOW_SEARCH_PAGE = """() => {
  document.getElementById('search-preview')?.scrollIntoView({block: 'start'});
}"""

# The same for a work order tapped in the history list.
SHOW_HISTORY_ORDER = """() => {
  document.getElementById('history-passage')?.scrollIntoView({block: 'start'});
}"""
