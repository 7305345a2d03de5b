() => {
  // Keyboard shortcuts (CVAT-like); ignored while typing in a field.
  const keys = {ArrowRight: 'next-btn', f: 'next-btn', ArrowLeft: 'prev-btn', d: 'prev-btn', ' ': 'play-btn',
                r: 'next-key', e: 'prev-key', Delete: 'del-key', Escape: 'cancel-btn', s: 'segment-btn'};
  document.addEventListener('keydown', (ev) => {
    const t = ev.target;
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName) || t.isContentEditable) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const id = keys[ev.key] || keys[ev.key.toLowerCase?.()];
    if (!id) return;
    const el = document.getElementById(id);
    if (el) { ev.preventDefault(); el.click(); }
  });
  // Clicking a point in a plot moves the scrubber to that frame.
  const hook = () => {
    document.querySelectorAll('#plots .js-plotly-plot').forEach((plot) => {
      if (plot.dataset.eorasHooked || !plot.on) return;
      plot.dataset.eorasHooked = '1';
      plot.on('plotly_click', (data) => {
        const x = Math.round(data.points?.[0]?.x ?? NaN);
        const range = document.querySelector('#scrub input[type=range]');
        if (!range || Number.isNaN(x)) return;
        range.value = String(x);
        range.dispatchEvent(new Event('input', {bubbles: true}));
        range.dispatchEvent(new Event('change', {bubbles: true}));
      });
    });
  };
  new MutationObserver(hook).observe(document.body, {childList: true, subtree: true});
}
