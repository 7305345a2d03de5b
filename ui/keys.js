() => {
  // Browser side of the studio: exact frame clicks and drags, keyboard shortcuts that
  // coalesce, timeline and plot clicks that seek. Events reach the server through hidden
  // textboxes and the frame slider, so every handler stays on the server.
  const $ = (sel) => document.querySelector(sel);
  const clamp01 = (v) => Math.min(1, Math.max(0, v));
  let sent = 0;

  // The picture's pixel size; while a new frame is still loading the last known size serves.
  const natural = {};
  const sizeOf = (img, r) => {
    const key = img.closest('#frame') ? 'frame' : 'other';
    if (img.naturalWidth > 0) natural[key] = [img.naturalWidth, img.naturalHeight];
    return natural[key] || [r.width, r.height];
  };
  // Position inside the image's drawn content (object-fit: contain), as fractions in [0, 1].
  const fraction = (img, ev) => {
    const r = img.getBoundingClientRect();
    const [nw, nh] = sizeOf(img, r);
    const s = Math.min(r.width / nw, r.height / nh);
    const cw = nw * s, ch = nh * s;
    const ox = r.left + (r.width - cw) / 2, oy = r.top + (r.height - ch) / 2;
    return [clamp01((ev.clientX - ox) / cw), clamp01((ev.clientY - oy) / ch)];
  };
  const toPage = (img, f) => {
    const r = img.getBoundingClientRect();
    const [nw, nh] = sizeOf(img, r);
    const s = Math.min(r.width / nw, r.height / nh);
    const cw = nw * s, ch = nh * s;
    return [r.left + (r.width - cw) / 2 + f[0] * cw + scrollX, r.top + (r.height - ch) / 2 + f[1] * ch + scrollY];
  };
  const send = (id, doc) => {
    const box = $(`#${id} textarea, #${id} input`);
    if (!box) return;
    doc.n = ++sent;
    box.value = JSON.stringify(doc);
    box.dispatchEvent(new Event('input', {bubbles: true}));
  };

  // Zoom (wheel, around the pointer) and pan (shift- or middle-drag) of the frame; 0 resets.
  // Clicks stay exact: positions are read from the transformed picture's on-screen rectangle.
  const zoom = {z: 1, tx: 0, ty: 0};
  const applyZoom = () => {
    const img = $('#frame img');
    if (!img) return;
    img.style.transformOrigin = '0 0';
    img.style.transform = zoom.z === 1 && !zoom.tx && !zoom.ty ? '' :
      `translate(${zoom.tx}px, ${zoom.ty}px) scale(${zoom.z})`;
  };
  document.addEventListener('wheel', (ev) => {
    const img = ev.target.closest?.('#frame img');
    if (!img) return;
    ev.preventDefault();
    const r = img.getBoundingClientRect();
    const baseLeft = r.left - zoom.tx, baseTop = r.top - zoom.ty;
    const z = Math.min(12, Math.max(1, zoom.z * (ev.deltaY < 0 ? 1.25 : 0.8)));
    const px = ev.clientX - baseLeft, py = ev.clientY - baseTop;
    zoom.tx = z === 1 ? 0 : px - (px - zoom.tx) * z / zoom.z;
    zoom.ty = z === 1 ? 0 : py - (py - zoom.ty) * z / zoom.z;
    zoom.z = z;
    applyZoom();
  }, {passive: false});
  new MutationObserver(applyZoom).observe(document.body, {childList: true, subtree: true});

  // Frame: two clicks (or one drag) make a box; a dashed band follows the mouse meanwhile.
  let down = null, first = null, band = null;
  const clearBand = () => { first = null; if (band) { band.remove(); band = null; } };
  const drawBand = (img, a, b) => {
    if (!band) {
      band = document.createElement('div');
      band.id = 'box-band';
      band.style.cssText = 'position:absolute;border:2px dashed #ffeb3b;box-shadow:0 0 0 1px #000;' +
                           'pointer-events:none;z-index:1000;';
      document.body.appendChild(band);
    }
    const p = toPage(img, a), q = toPage(img, b);
    band.style.left = Math.min(p[0], q[0]) + 'px';
    band.style.top = Math.min(p[1], q[1]) + 'px';
    band.style.width = Math.abs(q[0] - p[0]) + 'px';
    band.style.height = Math.abs(q[1] - p[1]) + 'px';
  };
  document.addEventListener('dragstart', (ev) => { if (ev.target.closest?.('#frame')) ev.preventDefault(); }, true);
  // Inside the drawn picture (with a small margin for aiming at its edge)?
  const onPicture = (img, ev, margin = 8) => {
    const r = img.getBoundingClientRect();
    const [nw, nh] = sizeOf(img, r);
    const s = Math.min(r.width / nw, r.height / nh);
    const cw = nw * s, ch = nh * s;
    const ox = r.left + (r.width - cw) / 2, oy = r.top + (r.height - ch) / 2;
    return ev.clientX >= ox - margin && ev.clientX <= ox + cw + margin &&
           ev.clientY >= oy - margin && ev.clientY <= oy + ch + margin;
  };
  // Tools: 'box' draws boxes; 'brush' and 'eraser' send strokes (a path of fractions).
  const tool = () => document.querySelector('#edit-tool input:checked')?.value || 'box';
  let stroke = null, pan = null, poly = null;
  // Polygon: click its corners; a click on the first corner, a double-click or Enter closes it.
  const drawPoly = (cursor) => strokeLine(poly.img, [...poly.pts, cursor, poly.pts[0]]);
  const closePoly = () => {
    if (poly && poly.pts.length >= 3) send('frame-clicks', {kind: 'polygon', points: poly.pts});
    poly = null;
    document.getElementById('stroke-line')?.remove();
  };
  document.addEventListener('dblclick', (ev) => { if (poly && ev.target.closest?.('#frame')) closePoly(); }, true);
  const strokeLine = (img, pts) => {
    let svg = document.getElementById('stroke-line');
    if (!svg) {
      svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.id = 'stroke-line';
      svg.style.cssText = 'position:absolute;left:0;top:0;pointer-events:none;z-index:1000;overflow:visible;';
      svg.innerHTML = '<polyline fill="none" stroke="#ffeb3b" stroke-width="3" stroke-linecap="round" ' +
                      'stroke-linejoin="round"/>';
      document.body.appendChild(svg);
    }
    svg.querySelector('polyline').setAttribute('points', pts.map((f) => toPage(img, f).join(',')).join(' '));
    svg.setAttribute('width', String(document.documentElement.scrollWidth));
    svg.setAttribute('height', String(document.documentElement.scrollHeight));
  };
  document.addEventListener('pointerdown', (ev) => {
    const img = ev.target.closest?.('#frame img');
    if (!img) return;
    ev.preventDefault();
    document.activeElement?.blur?.();  // keys go to the studio again, not to the last field used
    if (ev.button === 1 || (ev.button === 0 && ev.shiftKey)) {  // pan a zoomed frame
      pan = {x: ev.clientX, y: ev.clientY};
      return;
    }
    if (ev.button !== 0 || !onPicture(img, ev, first ? 4000 : 8)) return;
    if (tool() === 'polygon') {
      const f = fraction(img, ev);
      if (!poly) poly = {img, pts: []};
      const p0 = poly.pts.length ? toPage(img, poly.pts[0]) : null;
      if (p0 && poly.pts.length >= 3 && Math.hypot(ev.pageX - p0[0], ev.pageY - p0[1]) < 8) { closePoly(); return; }
      poly.pts.push(f);
      stroke = null;
      drawPoly(f);
      return;
    }
    if (tool() !== 'box') {
      stroke = {img, pts: [fraction(img, ev)]};
      strokeLine(img, stroke.pts);
      return;
    }
    // A first corner must be on the picture; the second one may overshoot and is clamped.
    down = {img, x: ev.clientX, y: ev.clientY, f: fraction(img, ev)};
  }, true);
  document.addEventListener('pointermove', (ev) => {
    const img = $('#frame img');
    if (!img) return;
    if (poly) drawPoly(fraction(img, ev));
    if (pan) {
      zoom.tx += ev.clientX - pan.x;
      zoom.ty += ev.clientY - pan.y;
      pan = {x: ev.clientX, y: ev.clientY};
      applyZoom();
      return;
    }
    if (stroke) {
      const f = fraction(img, ev), last = stroke.pts[stroke.pts.length - 1];
      const r = img.getBoundingClientRect();
      if (Math.hypot((f[0] - last[0]) * r.width, (f[1] - last[1]) * r.height) >= 2) stroke.pts.push(f);
      strokeLine(img, stroke.pts);
      return;
    }
    if (down && Math.hypot(ev.clientX - down.x, ev.clientY - down.y) > 6) drawBand(img, down.f, fraction(img, ev));
    else if (first && !down) drawBand(img, first, fraction(img, ev));
  });
  document.addEventListener('pointerup', (ev) => {
    if (pan) { pan = null; return; }
    if (stroke) {
      send('frame-clicks', {kind: 'stroke', points: stroke.pts.slice(0, 4000)});
      stroke = null;
      setTimeout(() => document.getElementById('stroke-line')?.remove(), 400);
      return;
    }
    if (!down) return;
    const img = down.img, f = fraction(img, ev), start = down;
    down = null;
    if (Math.hypot(ev.clientX - start.x, ev.clientY - start.y) > 6) {
      clearBand();
      send('frame-clicks', {kind: 'box', points: [start.f, f]});
    } else if (first) {
      const corner = first;
      clearBand();
      send('frame-clicks', {kind: 'box', points: [corner, f]});
    } else {
      first = f;
      send('frame-clicks', {kind: 'click', points: [f]});
    }
  }, true);
  document.addEventListener('click', (ev) => {
    if (ev.target.closest?.('#cancel-btn')) clearBand();
    const line = ev.target.closest?.('#timeline img');
    if (line) send('timeline-clicks', {kind: 'click', points: [fraction(line, ev)]});
  }, true);

  // Frame slider: keys move it locally at once and the server renders only the latest
  // frame (trigger_mode always_last); side panels refresh once the keys settle.
  let settle = null;
  const seek = (target) => {
    const range = $('#scrub input[type=range]');
    if (!range) return;
    const max = Number(range.max) || 0;
    range.value = String(((target % (max + 1)) + (max + 1)) % (max + 1));
    range.dispatchEvent(new Event('input', {bubbles: true}));
    clearTimeout(settle);
    settle = setTimeout(() => $('#sync-btn')?.click(), 250);
  };
  const step = (delta) => {
    const range = $('#scrub input[type=range]');
    if (range) seek(Number(range.value) + delta);
  };
  const buttons = {' ': 'play-btn', r: 'next-key', e: 'prev-key', Delete: 'del-key', Escape: 'cancel-btn',
                   s: 'segment-btn', h: 'mark-hidden', o: 'mark-gone', v: 'mark-reviewed', n: 'next-unreviewed',
                   a: 'accept-model', c: 'copy-prev'};
  document.addEventListener('keydown', (ev) => {
    const t = ev.target;
    const typing = t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' ||
                   (t.tagName === 'INPUT' && !['range', 'checkbox', 'radio', 'button'].includes(t.type));
    if (typing) return;
    if (t.isContentEditable || ev.altKey) return;
    if (ev.ctrlKey || ev.metaKey) {  // undo / redo; other shortcuts stay the browser's
      const k = ev.key.toLowerCase();
      const id = k === 'z' ? (ev.shiftKey ? 'redo-btn' : 'undo-btn') : k === 'y' ? 'redo-btn' : null;
      if (id) { ev.preventDefault(); document.getElementById(id)?.click(); }
      return;
    }
    const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
    if (key === 'ArrowRight' || key === 'f') { ev.preventDefault(); step(+1); return; }
    if (key === 'ArrowLeft' || key === 'd') { ev.preventDefault(); step(-1); return; }
    if (key === 'Escape') { clearBand(); poly = null; document.getElementById('stroke-line')?.remove(); }
    if (key === 'Enter' && poly) { ev.preventDefault(); closePoly(); return; }
    if (key === '0') { zoom.z = 1; zoom.tx = 0; zoom.ty = 0; applyZoom(); return; }
    const tools = {b: 'brush', x: 'eraser', p: 'polygon'};
    if (tools[key]) {
      const radio = document.querySelector(`#edit-tool input[value=${tools[key]}]`);
      const box = document.querySelector('#edit-tool input[value=box]');
      (radio?.checked ? box : radio)?.click();  // the key again goes back to boxes
      return;
    }
    const id = buttons[key];
    if (!id || ev.repeat) return;
    const el = document.getElementById(id);
    if (el) { ev.preventDefault(); el.click(); }
  });

  // A click on a plot point jumps to its frame.
  const hook = () => {
    document.querySelectorAll('#plots .js-plotly-plot').forEach((plot) => {
      if (plot.dataset.eorasHooked || !plot.on) return;
      plot.dataset.eorasHooked = '1';
      plot.on('plotly_click', (data) => {
        const x = Math.round(Number(data.points?.[0]?.x));
        if (!Number.isNaN(x)) seek(x);
      });
    });
    drawDatasetPlot();
  };
  // The dataset plot: each figure arrives as data (#dataset-plot .eoras-figure) and one lasting
  // div after it is redrawn with Plotly.react. A click on a mark lists (or opens) the objects
  // behind it.
  let drawnFigure = null;
  const drawDatasetPlot = () => {
    const holder = document.getElementById('dataset-plot');
    const source = holder?.querySelector('.eoras-figure');
    if (!source || !window.Plotly || source.dataset.fig === drawnFigure) return;
    let gd = document.getElementById('dataset-plotly');
    if (!gd) {
      gd = document.createElement('div');
      gd.id = 'dataset-plotly';
      holder.after(gd);
    }
    drawnFigure = source.dataset.fig;
    const fig = JSON.parse(drawnFigure);
    window.Plotly.react(gd, fig.data, fig.layout, {displaylogo: false, responsive: true}).then(() => {
      if (gd.dataset.eorasHooked) return;
      gd.dataset.eorasHooked = '1';
      gd.on('plotly_click', (data) => {
        const mark = data.points?.[0]?.customdata;
        if (mark !== undefined && mark !== null) send('dataset-pick', {mark});
      });
    });
  };
  new MutationObserver(hook).observe(document.body, {childList: true, subtree: true});
}
