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
  // Two-click boxes, drawn live: after the first corner a dashed rectangle follows the mouse
  // over the frame until the second click (the server receives both clicks as usual).
  let start = null, band = null;
  const clear = () => { start = null; if (band) { band.remove(); band = null; } };
  const inside = (ev, r) => [Math.min(Math.max(ev.pageX, r.left + scrollX), r.right + scrollX),
                             Math.min(Math.max(ev.pageY, r.top + scrollY), r.bottom + scrollY)];
  document.addEventListener('click', (ev) => {
    const img = ev.target.closest?.('#frame img');
    if (!img) { if (ev.target.closest?.('#cancel-btn')) clear(); return; }
    if (start) { clear(); return; }
    start = [ev.pageX, ev.pageY];
    band = document.createElement('div');
    band.id = 'box-band';
    band.style.cssText = 'position:absolute;border:2px dashed #ffeb3b;box-shadow:0 0 0 1px #000;' +
                         'pointer-events:none;z-index:1000;left:' + start[0] + 'px;top:' + start[1] + 'px;';
    document.body.appendChild(band);
  }, true);
  document.addEventListener('mousemove', (ev) => {
    if (!start || !band) return;
    const img = document.querySelector('#frame img');
    if (!img) return;
    const [x, y] = inside(ev, img.getBoundingClientRect());
    band.style.left = Math.min(x, start[0]) + 'px';
    band.style.top = Math.min(y, start[1]) + 'px';
    band.style.width = Math.abs(x - start[0]) + 'px';
    band.style.height = Math.abs(y - start[1]) + 'px';
  });
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') clear(); });
}
