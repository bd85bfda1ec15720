// timeline.html: draws a restoresim run as a space-time diagram on a canvas.
// The data (every event, message, down time, band, fault) is embedded in the
// page as JSON; only the drawing is thinned: at most one event tick per lane
// and pixel, and at most MAX_ARROWS ordinary messages (every faulty one is
// always drawn), so a 100,000-event trace stays responsive.
"use strict";

(function () {
  const D = JSON.parse(document.getElementById("timeline-data").textContent);
  const MAX_ARROWS = 3000;
  const LABEL_W = 118;
  const AXIS_H = 26;
  const canvas = document.getElementById("canvas");
  const ctx = canvas.getContext("2d");
  const tip = document.getElementById("tip");
  const status = document.getElementById("status");

  const FATE_COLOR = {
    delivered: "#4a6fa5", refused: "#138d90",
    dropped: "#d62728", discarded: "#888888", lost: "#d62728",
  };
  const STATE_COLOR = {
    Allocating: "#f6d8a8", Proposing: "#f3e6a0", Waiting: "#cfe3f7",
    Applying: "#c8ebc8", Done: "#e2e2e2", Failed: "#f5b7b7",
  };
  const KIND_COLOR = {
    deliver: "#4a6fa5", commit: "#2a9d3a", timer: "#9467bd", io: "#8c8c8c",
    pipe_reset: "#e377c2", boot: "#17becf", crash: "#d62728", kill_on_commit: "#d62728",
    discarded: "#aaaaaa", refused: "#138d90", partition_start: "#7f3fbf", partition_end: "#7f3fbf",
  };

  // Per lane: indices into D.events, in time order.
  const laneEvents = D.actors.map(() => []);
  D.events.forEach((e, k) => laneEvents[e[2]].push(k));
  // Messages by send time; the longest flight bounds the search window.
  const messages = D.messages.slice().sort((a, b) => a.sent_us - b.sent_us);
  let maxFlight = 0;
  for (const m of messages) {
    if (m.at_us !== null) maxFlight = Math.max(maxFlight, m.at_us - m.sent_us);
  }
  const eventByIndex = new Map();
  D.events.forEach((e, k) => eventByIndex.set(e[0], k));

  const visible = D.actors.map(() => true);
  const end = Math.max(D.end_us, 1);
  let view = { t0: 0, t1: end };
  let drawn = { arrows: [], laneY: [], laneH: 0 };

  function fmt(us) {
    if (us >= 1e6) return (us / 1e6).toFixed(6).replace(/0+$/, "").replace(/\.$/, "") + " s";
    if (us >= 1e3) return (us / 1e3).toFixed(3).replace(/0+$/, "").replace(/\.$/, "") + " ms";
    return us + " µs";
  }

  function lowerBound(arr, t, key) {
    let lo = 0, hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key(arr[mid]) < t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  function layout() {
    const width = canvas.clientWidth;
    const lanes = visible.filter(Boolean).length;
    const avail = Math.max(window.innerHeight - canvas.getBoundingClientRect().top - 40, 200);
    const laneH = Math.max(12, Math.min(44, Math.floor((avail - AXIS_H) / Math.max(lanes, 1))));
    const laneY = [];
    let y = AXIS_H;
    D.actors.forEach((_, a) => {
      if (visible[a]) { laneY[a] = y + laneH / 2; y += laneH; } else laneY[a] = null;
    });
    const height = y + 4;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.floor(width * dpr);
    canvas.height = Math.floor(height * dpr);
    canvas.style.height = height + "px";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { width, height, laneY, laneH };
  }

  function xOf(t, width) {
    return LABEL_W + ((t - view.t0) / (view.t1 - view.t0)) * (width - LABEL_W - 8);
  }

  function tOf(x, width) {
    return view.t0 + ((x - LABEL_W) / (width - LABEL_W - 8)) * (view.t1 - view.t0);
  }

  function cross(x, y, r, color) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
    ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r);
    ctx.stroke();
  }

  function arrowHead(x0, y0, x1, y1, color) {
    const ang = Math.atan2(y1 - y0, x1 - x0);
    ctx.fillStyle = color;
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x1 - 7 * Math.cos(ang - 0.4), y1 - 7 * Math.sin(ang - 0.4));
    ctx.lineTo(x1 - 7 * Math.cos(ang + 0.4), y1 - 7 * Math.sin(ang + 0.4));
    ctx.closePath();
    ctx.fill();
  }

  function drawAxis(L) {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, L.width, AXIS_H);
    ctx.strokeStyle = "#bbb";
    ctx.fillStyle = "#444";
    ctx.font = "11px sans-serif";
    const span = view.t1 - view.t0;
    const raw = span / 8;
    const pow = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) || pow * 10;
    for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
      const x = xOf(t, L.width);
      ctx.beginPath(); ctx.moveTo(x, AXIS_H - 6); ctx.lineTo(x, L.height); ctx.stroke();
      ctx.fillText(fmt(t), x + 2, AXIS_H - 10);
    }
  }

  function drawLanes(L) {
    ctx.font = "12px sans-serif";
    D.actors.forEach((name, a) => {
      const y = L.laneY[a];
      if (y === null) return;
      ctx.strokeStyle = "#999";
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(LABEL_W, y); ctx.lineTo(L.width, y); ctx.stroke();
      ctx.fillStyle = "#222";
      ctx.fillText(name, 6, y + 4);
    });
  }

  function drawSpans(L) {
    // Partitions: the member lanes shaded over the partition's window.
    for (const p of D.partitions) {
      const x0 = xOf(p.from_us, L.width), x1 = xOf(p.until_us, L.width);
      if (x1 < LABEL_W || x0 > L.width) continue;
      ctx.fillStyle = p.one_way ? "rgba(127,63,191,0.10)" : "rgba(127,63,191,0.18)";
      for (const a of p.actors) {
        if (L.laneY[a] === null) continue;
        ctx.fillRect(Math.max(x0, LABEL_W), L.laneY[a] - L.laneH / 2, x1 - Math.max(x0, LABEL_W), L.laneH);
      }
    }
    // The coordinator's state bands, on the SchemeShard lane, one row per operation.
    const ops = [...new Set(D.bands.map((b) => b.op))];
    const ss = L.laneY[1];
    if (ss !== undefined && ss !== null && ops.length) {
      const rowH = (L.laneH - 4) / ops.length;
      ctx.font = "10px sans-serif";
      for (const b of D.bands) {
        const x0 = Math.max(xOf(b.from_us, L.width), LABEL_W), x1 = Math.min(xOf(b.until_us, L.width), L.width);
        if (x1 <= x0) continue;
        const y = ss - L.laneH / 2 + 2 + ops.indexOf(b.op) * rowH;
        ctx.fillStyle = STATE_COLOR[b.state] || "#ddd";
        ctx.fillRect(x0, y, x1 - x0, rowH);
        const text = b.state.slice(0, 2) + b.incr;
        if (x1 - x0 > 24 && rowH >= 9) { ctx.fillStyle = "#333"; ctx.fillText(text, x0 + 2, y + rowH - 2); }
      }
    }
    // Down time: a thick red-grey bar from crash to boot.
    for (const s of D.down) {
      const y = L.laneY[s.actor];
      if (y === null) continue;
      const x0 = Math.max(xOf(s.from_us, L.width), LABEL_W), x1 = Math.min(xOf(s.until_us, L.width), L.width);
      if (x1 < LABEL_W || x0 > L.width) continue;
      ctx.fillStyle = s.why === "kill_on_commit" ? "rgba(214,39,40,0.55)" : "rgba(90,90,90,0.55)";
      ctx.fillRect(x0, y - 5, Math.max(x1 - x0, 2), 10);
      cross(x0, y, 5, "#d62728");
    }
  }

  function drawEvents(L) {
    // Thinning: one tick per lane and pixel column (commits win over others).
    D.actors.forEach((_, a) => {
      const y = L.laneY[a];
      if (y === null) return;
      const evs = laneEvents[a];
      let k = lowerBound(evs, view.t0, (i) => D.events[i][1]);
      let lastX = -1, lastCommit = false;
      for (; k < evs.length; k++) {
        const e = D.events[evs[k]];
        if (e[1] > view.t1) break;
        const x = Math.round(xOf(e[1], L.width));
        const commit = e[3] === "commit";
        if (x === lastX && (lastCommit || !commit)) continue;
        lastX = x; lastCommit = commit;
        ctx.fillStyle = KIND_COLOR[e[3]] || "#666";
        if (commit) ctx.fillRect(x - 1, y - 8, 2, 16);
        else ctx.fillRect(x, y - 3, 1, 6);
      }
    });
  }

  function drawMessages(L) {
    const from = lowerBound(messages, view.t0 - maxFlight, (m) => m.sent_us);
    const inView = [];
    for (let k = from; k < messages.length; k++) {
      const m = messages[k];
      if (m.sent_us > view.t1) break;
      const arrive = m.at_us === null ? m.sent_us : m.at_us;
      if (arrive < view.t0) continue;
      if (L.laneY[m.from] === null || L.laneY[m.to] === null) continue;
      inView.push(m);
    }
    const special = (m) => m.fate !== "delivered" || m.reordered || m.copy;
    const plain = inView.filter((m) => !special(m));
    const stride = Math.max(1, Math.ceil(plain.length / MAX_ARROWS));
    const arrows = [];
    plain.forEach((m, k) => { if (k % stride === 0) arrows.push(m); });
    inView.forEach((m) => { if (special(m)) arrows.push(m); });
    drawn.arrows = [];
    ctx.lineWidth = 1;
    for (const m of arrows) {
      const x0 = xOf(m.sent_us, L.width), y0 = L.laneY[m.from], y1 = L.laneY[m.to];
      let color = FATE_COLOR[m.fate];
      if (m.fate === "delivered" && m.copy) color = "#e08a00";
      else if (m.fate === "delivered" && m.reordered) color = "#8e44ad";
      ctx.strokeStyle = color;
      let x1, yEnd;
      if (m.at_us === null) {
        // Never arrived: a short stub toward the receiver, ending in a cross.
        x1 = x0 + 14; yEnd = y0 + (y1 - y0) * 0.35;
      } else {
        x1 = xOf(m.at_us, L.width); yEnd = y1;
      }
      ctx.setLineDash(m.copy ? [4, 3] : []);
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, yEnd); ctx.stroke();
      ctx.setLineDash([]);
      if (m.fate === "dropped" || m.fate === "lost" || m.fate === "discarded") cross(x1, yEnd, 4, color);
      else arrowHead(x0, y0, x1, yEnd, color);
      drawn.arrows.push({ m, x0, y0, x1, y1: yEnd });
    }
    return { shown: arrows.length, total: inView.length };
  }

  function drawFaults(L) {
    for (const f of D.faults) {
      const y = L.laneY[f.actor];
      if (y === null || f.at_us < view.t0 || f.at_us > view.t1) continue;
      const x = xOf(f.at_us, L.width);
      ctx.fillStyle = f.kind === "drop" ? "#d62728" : "#ff7f0e";
      ctx.beginPath(); ctx.moveTo(x, y - 12); ctx.lineTo(x - 4, y - 18); ctx.lineTo(x + 4, y - 18); ctx.closePath(); ctx.fill();
    }
  }

  function drawViolation(L) {
    const v = D.violation;
    if (!v) return;
    const x = xOf(v.at_us, L.width);
    if (x < LABEL_W || x > L.width) return;
    ctx.strokeStyle = "#b00020";
    ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(x, AXIS_H); ctx.lineTo(x, L.height); ctx.stroke();
    if (v.actor !== null && L.laneY[v.actor] !== null) {
      ctx.beginPath(); ctx.arc(x, L.laneY[v.actor], 7, 0, 2 * Math.PI); ctx.stroke();
    }
    ctx.font = "bold 12px sans-serif";
    const label = "✖ " + v.invariant;
    const w = ctx.measureText(label).width;
    const lx = Math.min(x + 4, L.width - w - 4);
    ctx.fillStyle = "rgba(255,255,255,0.85)";
    ctx.fillRect(lx - 2, AXIS_H + 1, w + 4, 16);
    ctx.fillStyle = "#b00020";
    ctx.fillText(label, lx, AXIS_H + 13);
  }

  function draw() {
    const L = layout();
    ctx.clearRect(0, 0, L.width, L.height);
    drawAxis(L);
    drawSpans(L);
    drawLanes(L);
    drawEvents(L);
    const shown = drawMessages(L);
    drawFaults(L);
    drawViolation(L);
    ctx.fillStyle = "#fafafa";
    ctx.fillRect(0, AXIS_H, 4, L.height);
    drawn.laneY = L.laneY; drawn.laneH = L.laneH; drawn.width = L.width;
    const thin = shown.shown < shown.total ? ` (showing ${shown.shown} of ${shown.total}; zoom in for all)` : "";
    status.textContent = `${fmt(Math.round(view.t0))} – ${fmt(Math.round(view.t1))} · ` +
      `${D.events.length} events · ${shown.total} messages in view${thin}`;
  }

  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(() => { pending = false; draw(); });
  }

  function zoom(factor, atT) {
    const span = Math.min(Math.max((view.t1 - view.t0) * factor, 10), end * 1.1);
    const c = atT === undefined ? (view.t0 + view.t1) / 2 : atT;
    const left = (c - view.t0) / (view.t1 - view.t0);
    view.t0 = c - span * left;
    view.t1 = view.t0 + span;
    redraw();
  }

  function pan(dt) {
    view.t0 += dt; view.t1 += dt;
    redraw();
  }

  function jumpToViolation() {
    const v = D.violation;
    if (!v) return;
    const span = Math.min(end, Math.max(2000, (view.t1 - view.t0) / 4));
    view.t0 = v.at_us - span * 0.7;
    view.t1 = view.t0 + span;
    redraw();
  }

  function fields(detail) {
    const out = [];
    const round = /round: Round\((\d+)\)/.exec(detail);
    const gen = /generation: Generation\((\d+)\)/.exec(detail);
    const lastKey = /last_key: (Some\((\d+)\)|None)/.exec(detail);
    if (gen) out.push("stamp generation " + gen[1]);
    if (round) out.push("round " + round[1]);
    if (lastKey) out.push("LastKey " + (lastKey[2] || "None"));
    return out.join(" · ");
  }

  function describeEvent(e) {
    const f = fields(e[6]);
    return `#${e[0]}  ${fmt(e[1])}  ${D.actors[e[2]]} (generation ${e[5]})\n${e[3]}${e[4] ? " " + e[4] : ""}` +
      (f ? `\n${f}` : "") + (e[6] ? `\n\n${e[6]}` : "");
  }

  function describeMessage(m) {
    const when = m.at_us === null ? "never arrived" : `arrived ${fmt(m.at_us)}`;
    let text = `${m.label} #${m.nth}  ${D.actors[m.from]} → ${D.actors[m.to]}\nsent ${fmt(m.sent_us)}, ${when}\n` +
      `fate: ${m.fate}${m.copy ? " (the second copy of a duplicated message)" : ""}` +
      `${m.reordered ? " (reordered: overtaken by a later message)" : ""}`;
    if (m.event !== null && eventByIndex.has(m.event)) text += "\n\n" + describeEvent(D.events[eventByIndex.get(m.event)]);
    return text;
  }

  function nearestArrow(x, y) {
    let best = null, bestD = 5;
    for (const a of drawn.arrows) {
      const dx = a.x1 - a.x0, dy = a.y1 - a.y0;
      const len2 = dx * dx + dy * dy || 1;
      const u = Math.max(0, Math.min(1, ((x - a.x0) * dx + (y - a.y0) * dy) / len2));
      const d = Math.hypot(a.x0 + u * dx - x, a.y0 + u * dy - y);
      if (d < bestD) { bestD = d; best = a.m; }
    }
    return best;
  }

  function nearestEvent(x, y) {
    let lane = null;
    D.actors.forEach((_, a) => {
      const ly = drawn.laneY[a];
      if (ly !== null && Math.abs(ly - y) <= drawn.laneH / 2) lane = a;
    });
    if (lane === null) return null;
    const t = tOf(x, drawn.width);
    const evs = laneEvents[lane];
    const k = lowerBound(evs, t, (i) => D.events[i][1]);
    let best = null, bestD = 6;
    for (const c of [k - 1, k]) {
      if (c < 0 || c >= evs.length) continue;
      const d = Math.abs(xOf(D.events[evs[c]][1], drawn.width) - x);
      if (d < bestD) { bestD = d; best = D.events[evs[c]]; }
    }
    return best;
  }

  function hover(ev) {
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    let text = null;
    const e = nearestEvent(x, y);
    if (e) text = describeEvent(e);
    else {
      const m = nearestArrow(x, y);
      if (m) text = describeMessage(m);
      else {
        const v = D.violation;
        if (v && Math.abs(xOf(v.at_us, drawn.width) - x) < 4) text = `${v.invariant}\n${v.event}\n\n${v.message}`;
      }
    }
    if (!text) { tip.style.display = "none"; return; }
    tip.textContent = text;
    tip.style.display = "block";
    const left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    const top = Math.min(ev.clientY + 14, window.innerHeight - tip.offsetHeight - 8);
    tip.style.left = Math.max(left, 0) + "px";
    tip.style.top = Math.max(top, 0) + "px";
  }

  let drag = null;
  canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, t0: view.t0, t1: view.t1 }; canvas.classList.add("dragging"); });
  window.addEventListener("mouseup", () => { drag = null; canvas.classList.remove("dragging"); });
  canvas.addEventListener("mousemove", (ev) => {
    if (drag) {
      const dt = ((drag.x - ev.clientX) / (drawn.width - LABEL_W - 8)) * (drag.t1 - drag.t0);
      view.t0 = drag.t0 + dt; view.t1 = drag.t1 + dt;
      tip.style.display = "none";
      redraw();
    } else hover(ev);
  });
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = canvas.getBoundingClientRect();
    const at = tOf(ev.clientX - r.left, drawn.width);
    if (ev.shiftKey) pan(((ev.deltaY || ev.deltaX) / 500) * (view.t1 - view.t0));
    else zoom(ev.deltaY > 0 ? 1.25 : 0.8, at);
  }, { passive: false });
  window.addEventListener("keydown", (ev) => {
    if (ev.target && ev.target.tagName === "INPUT" && ev.target.type === "text") return;
    const span = view.t1 - view.t0;
    if (ev.key === "+" || ev.key === "=") zoom(0.8);
    else if (ev.key === "-") zoom(1.25);
    else if (ev.key === "ArrowLeft") pan(-span / 10);
    else if (ev.key === "ArrowRight") pan(span / 10);
    else if (ev.key === "v") jumpToViolation();
    else if (ev.key === "0") { view = { t0: 0, t1: end }; redraw(); }
  });
  window.addEventListener("resize", redraw);

  document.getElementById("zoom-in").addEventListener("click", () => zoom(0.5));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(2));
  document.getElementById("fit").addEventListener("click", () => { view = { t0: 0, t1: end }; redraw(); });
  const jump = document.getElementById("jump");
  if (D.violation) jump.addEventListener("click", jumpToViolation); else jump.disabled = true;

  // Filtering by actor: a checkbox per lane, and all / none / DataShards.
  const actorsBox = document.getElementById("actors");
  const boxes = D.actors.map((name, a) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.addEventListener("change", () => { visible[a] = box.checked; redraw(); });
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + name));
    actorsBox.appendChild(label);
    return box;
  });
  function showOnly(pred) {
    boxes.forEach((box, a) => { box.checked = pred(a); visible[a] = box.checked; });
    redraw();
  }
  document.getElementById("all").addEventListener("click", () => showOnly(() => true));
  document.getElementById("coordinator").addEventListener("click", () => showOnly((a) => a <= 2));
  document.getElementById("filter").addEventListener("input", (ev) => {
    const q = ev.target.value.trim().toLowerCase();
    showOnly((a) => !q || D.actors[a].toLowerCase().includes(q));
  });

  // `timeline.html#violation` opens zoomed on the violation (report.html links so).
  if (window.location.hash === "#violation" && D.violation) {
    const span = Math.min(end, 2000);
    view = { t0: D.violation.at_us - span * 0.7, t1: D.violation.at_us + span * 0.3 };
  }
  const started = performance.now();
  draw();
  // How long the first full draw took, for the browser test to report.
  document.body.setAttribute("data-draw-ms", (performance.now() - started).toFixed(1));
  document.body.setAttribute("data-ready", "1");
})();
