"""The little JavaScript the page runs: what Gradio offers no component or event for."""

# After a question is accepted: bring it to the top of the answer box once. The box does not
# follow the stream (autoscroll off), so the status, safety notices and quotes at the top of
# the answer stay in view while the model writes below them.
SCROLL_TO_QUESTION = """() => {
  const rows = document.querySelectorAll('#answers .user-row');
  if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'start'});
}"""

# Citation links ([n], Sources) in answers open the page beside the answer: the click goes to a
# hidden text box whose input event the server handles (app.rendering.citation_anchor).
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
    // back for the answer)
    if (window.innerWidth < 700) {
      const shown = () => document.querySelector('#preview img')?.getAttribute('src');
      const before = shown();
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
