// The attention explorer: a head view (lines from each query token to the key tokens it attends
// to, one colour per head, thickness and opacity following the weight), a grid of every layer's
// and head's weights as thumbnails (click one to enlarge it), and for one query the computation
// itself with the model's numbers: q, the keys, q.k/sqrt(d) (+ position bias), softmax, and the
// weighted sum of the values. Bahdanau and local-p models: the alignment over decoding steps.
"use strict";
(function () {
  var data = readData("data");
  var app = document.getElementById("app");
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#393b79", "#637939"];
  var state = { group: 0, layer: 0, heads: null, query: 0 };

  var header = el("header", { cls: "page" }, [
    el("h1", { text: "Attention explorer" }),
    el("div", { cls: "muted", text: data.description }),
    el("div", {}, [el("b", { text: "Source: " }), data.input]),
    el("div", {}, [el("b", { text: data.given_target ? "Given translation: " : "Translation: " }), data.translation,
                   el("span", { cls: "muted", text: "  (log-probability " + data.log_probability + ")" })])
  ]);
  document.body.insertBefore(header, app);
  var main = el("main");
  app.appendChild(main);

  if (data.groups) transformerView();
  else if (data.steps) recurrentView();
  else main.appendChild(el("p", { id: "no-attention", text: "The " + data.model +
      " model has no attention: its decoder sees the source only through the encoder's final state." }));
  window.explorerReadyMs = performance.now();  // since navigation started: the browser test prints it
  window.explorerReady = true;

  // ---------- transformer ----------
  function weight(head, i, j, keys) { return head.w[i * keys + j] / 10000; }
  // Row i of a matrix stored as {c: columns, s: scale, d: integers} (explain.cpp's matrix_json).
  function row(m, i) { return m.d.slice(i * m.c, (i + 1) * m.c).map(function (x) { return x * m.s; }); }
  function show(x) { return Number(x.toPrecision(3)).toString(); }

  function transformerView() {
    var tabs = el("nav", { id: "groups" });
    data.groups.forEach(function (g, n) {
      var b = el("button", { cls: "tab", "data-group": g.id, text: g.title + " (" + g.layers.length + " layers)" });
      b.addEventListener("click", function () { state.group = n; state.layer = 0; state.heads = null; state.query = 0; render(); });
      tabs.appendChild(b);
    });
    main.appendChild(tabs);
    var controls = el("div", { cls: "controls", id: "controls" });
    var panes = el("div", { cls: "panes" });
    var left = el("div"), right = el("div");
    panes.appendChild(left);
    panes.appendChild(right);
    main.appendChild(controls);
    main.appendChild(el("p", { cls: "muted", text: "Hover a word: its lines light up (left: what it attends to; right: what attends to it). " +
        "Click a word on the left to show its computation below. Click a thumbnail to show that head alone." }));
    main.appendChild(panes);
    var computation = el("section", { id: "computation" });
    main.appendChild(computation);
    render();

    function render() {
      var g = data.groups[state.group];
      var H = g.layers[0].heads.length;
      if (!state.heads) state.heads = Array.from({ length: H }, function () { return true; });
      Array.prototype.forEach.call(tabs.children, function (b, n) { b.classList.toggle("active", n === state.group); });
      renderControls(g, H);
      left.innerHTML = "";
      left.appendChild(headView(g));
      right.innerHTML = "";
      right.appendChild(thumbnails(g));
      renderComputation(g);
    }

    function renderControls(g, H) {
      controls.innerHTML = "";
      controls.appendChild(el("span", { text: "Layer:" }));
      g.layers.forEach(function (_, l) {
        var b = el("button", { cls: "tab layer" + (l === state.layer ? " active" : ""), "data-layer": l, text: String(l + 1),
                               title: g.paths[l] });  // the module's path, e.g. decoder.layers_1.cross_attn
        b.addEventListener("click", function () { state.layer = l; render(); });
        controls.appendChild(b);
      });
      controls.appendChild(el("span", { text: "Heads:" }));
      for (var h = 0; h < H; ++h) (function (h) {
        var box = el("input", { type: "checkbox", "data-head": h });
        box.checked = state.heads[h];
        box.addEventListener("change", function () { state.heads[h] = box.checked; render(); });
        controls.appendChild(el("label", {}, [box, el("span", { cls: "swatch", style: "background:" + COLORS[h % COLORS.length] }), String(h + 1)]));
      })(h);
    }

    function headView(g) {
      var layer = g.layers[state.layer], Tq = g.queries.length, Tk = g.keys.length;
      var row = 18, width = 420, top = 24, height = top + Math.max(Tq, Tk) * row + 8;
      var xl = 150, xr = width - 150;
      var svg = svgEl("svg", { id: "head-view", width: width, height: height, viewBox: "0 0 " + width + " " + height });
      var title = svgEl("text", { x: 8, y: 14 });
      title.textContent = g.title + ", layer " + (state.layer + 1);
      svg.appendChild(title);
      var lines = svgEl("g", {});
      svg.appendChild(lines);
      layer.heads.forEach(function (head, h) {
        if (!state.heads[h]) return;
        for (var i = 0; i < Tq; ++i) for (var j = 0; j < Tk; ++j) {
          var w = weight(head, i, j, Tk);
          if (w < 0.01) continue;  // invisible at this opacity anyway
          lines.appendChild(svgEl("line", { x1: xl + 4, y1: top + i * row + 5, x2: xr - 4, y2: top + j * row + 5,
            stroke: COLORS[h % COLORS.length], "stroke-width": (0.5 + 3 * w).toFixed(2), "stroke-opacity": Math.min(1, 0.15 + w).toFixed(2),
            "data-i": i, "data-j": j, "data-head": h }));
        }
      });
      function tokens(words, x, anchor, side) {
        words.forEach(function (word, n) {
          var t = svgEl("text", { x: x, y: top + n * row + 9, "text-anchor": anchor, "data-n": n });
          t.setAttribute("class", "tok-" + side + (side === "q" && n === state.query ? " chosen" : ""));
          t.textContent = word;
          t.addEventListener("mouseenter", function () { focus(side, n, true); });
          t.addEventListener("mouseleave", function () { focus(side, n, false); });
          if (side === "q") t.addEventListener("click", function () { state.query = n; render(); });
          svg.appendChild(t);
        });
      }
      tokens(g.queries, xl, "end", "q");
      tokens(g.keys, xr, "start", "k");
      function focus(side, n, on) {
        svg.classList.toggle("focus", on);
        Array.prototype.forEach.call(lines.children, function (line) {
          var mine = Number(line.getAttribute(side === "q" ? "data-i" : "data-j")) === n;
          line.classList.toggle("hl", on && mine);
          if (on && mine) {
            var other = svg.querySelector(".tok-" + (side === "q" ? "k" : "q") + "[data-n='" + line.getAttribute(side === "q" ? "data-j" : "data-i") + "']");
            if (other) other.classList.add("hl");
          }
        });
        if (!on) Array.prototype.forEach.call(svg.querySelectorAll("text.hl"), function (t) { t.classList.remove("hl"); });
        else svg.querySelector(".tok-" + side + "[data-n='" + n + "']").classList.add("hl");
      }
      return svg;
    }

    function thumbnails(g) {
      var H = g.layers[0].heads.length, Tq = g.queries.length, Tk = g.keys.length;
      var grid = el("div", { id: "thumbs", style: "grid-template-columns: repeat(" + (H + 1) + ", auto)" });
      var scale = Math.max(1, Math.floor(84 / Math.max(Tq, Tk)));
      grid.appendChild(el("div", { cls: "cell" }));
      for (var h = 0; h < H; ++h) grid.appendChild(el("div", { cls: "cell", text: "head " + (h + 1) }));
      g.layers.forEach(function (layer, l) {
        grid.appendChild(el("div", { cls: "cell", text: "layer " + (l + 1) }));
        layer.heads.forEach(function (head, h) {
          var c = el("canvas", { cls: "thumb", width: Tk * scale, height: Tq * scale, "data-layer": l, "data-head": h,
                                 title: "layer " + (l + 1) + ", head " + (h + 1) });
          var single = state.layer === l && state.heads.filter(Boolean).length === 1 && state.heads[h];
          if (single) c.classList.add("selected");
          var ctx = c.getContext("2d");
          for (var i = 0; i < Tq; ++i) for (var j = 0; j < Tk; ++j) {
            var shade = Math.round(255 * (1 - Math.sqrt(weight(head, i, j, Tk))));
            ctx.fillStyle = "rgb(" + shade + "," + shade + ",255)";
            ctx.fillRect(j * scale, i * scale, scale, scale);
          }
          c.addEventListener("click", function () {
            state.layer = l;
            state.heads = state.heads.map(function (_, k) { return k === h; });
            render();
          });
          grid.appendChild(c);
        });
      });
      return grid;
    }

    function renderComputation(g) {
      computation.innerHTML = "";
      var shown = state.heads.map(function (on, h) { return on ? h : -1; }).filter(function (h) { return h >= 0; });
      var h = shown.length ? shown[0] : 0, i = Math.min(state.query, g.queries.length - 1);
      var head = g.layers[state.layer].heads[h], Tk = g.keys.length, q = row(head.q, i), d = q.length;
      var K = [], V = [], bias = [];
      for (var j = 0; j < Tk; ++j) { K.push(row(head.k, j)); V.push(row(head.v, j)); bias.push(g.bias ? row(g.bias[h], i)[j] : 0); }
      computation.appendChild(el("h2", { id: "computation-title", text: "The computation: " + g.title.split(" (")[0] + ", layer " + (state.layer + 1) +
          ", head " + (h + 1) + ", query " + (i + 1) + " '" + g.queries[i] + "'" }));
      computation.appendChild(el("p", { cls: "muted", text: "softmax(q K^T / sqrt(d) + bias) V for one query, d = " + d +
          ". Scores and softmax are recomputed here from the stored vectors (three digits relative to each matrix's largest value); the last weight column is the model's own." }));
      computation.appendChild(el("div", { cls: "mono vec" }, ["q = [" + q.map(show).join(", ") + "]"]));
      var scores = [], hidden = [], top = -Infinity, k;
      for (j = 0; j < Tk; ++j) {
        var dot = 0;
        for (k = 0; k < d; ++k) dot += q[k] * K[j][k];
        var s = dot / Math.sqrt(d) + bias[j];
        hidden.push(g.causal && j > i);
        scores.push(s);
        if (!hidden[j]) top = Math.max(top, s);
      }
      var total = 0, soft = scores.map(function (s, j) { var e = hidden[j] ? 0 : Math.exp(s - top); total += e; return e; });
      soft = soft.map(function (e) { return e / total; });
      var context = new Array(d).fill(0);
      for (j = 0; j < Tk; ++j) for (k = 0; k < d; ++k) context[k] += soft[j] * V[j][k];
      var table = el("table", { cls: "data mono", id: "computation-table" });
      table.appendChild(el("tr", {}, ["j", "key", "k_j (first 4 of " + d + ")", "q.k_j / sqrt(d)", g.bias ? "+ bias" : "bias", "score",
          "softmax", "model's weight"].map(function (t) { return el("th", { text: t }); })));
      var best = soft.indexOf(Math.max.apply(null, soft));
      for (j = 0; j < Tk; ++j) {
        var dotj = scores[j] - bias[j];
        table.appendChild(el("tr", { cls: j === best ? "top" : "" }, [String(j + 1), g.keys[j], "[" + K[j].slice(0, 4).map(show).join(", ") + ", ...]",
            fmt(dotj, 3), g.bias ? fmt(bias[j], 3) : "-", hidden[j] ? "masked" : fmt(scores[j], 3), fmt(soft[j], 4),
            fmt(weight(head, i, j, Tk), 4)].map(function (t, n) { return el("td", { cls: n === 1 ? "left" : "", text: t }); })));
      }
      computation.appendChild(table);
      computation.appendChild(el("div", { cls: "mono vec" }, ["context = sum_j softmax_j v_j = [" + context.map(function (x) { return fmt(x, 3); }).join(", ") + "]"]));
    }
  }

  // ---------- Bahdanau / local-p ----------
  function recurrentView() {
    var S = data.source.length, T = data.steps.length, cell = 18, left = 110, top = 90;
    var svg = svgEl("svg", { id: "rnn-map", width: left + S * cell + 20, height: top + T * cell + 10 });
    data.source.forEach(function (w, s) {
      var t = svgEl("text", { x: left + s * cell + 12, y: top - 6, transform: "rotate(-60 " + (left + s * cell + 12) + " " + (top - 6) + ")" });
      t.textContent = w;
      svg.appendChild(t);
    });
    var chosen = { step: 0 };
    data.steps.forEach(function (step, t) {
      var g = svgEl("g", { "class": "row", "data-step": t });
      var label = svgEl("text", { x: left - 6, y: top + t * cell + 13, "text-anchor": "end" });
      label.textContent = data.output[t];
      g.appendChild(label);
      for (var s = 0; s < S; ++s) {
        var w = step.w[s] / 10000, shade = Math.round(255 * (1 - Math.sqrt(w)));
        var r = svgEl("rect", { "class": "cellr", x: left + s * cell, y: top + t * cell, width: cell, height: cell,
                                fill: "rgb(" + shade + "," + shade + ",255)" });
        var tip = svgEl("title", {});
        tip.textContent = data.output[t] + " -> " + data.source[s] + ": " + fmt(w, 4);
        r.appendChild(tip);
        g.appendChild(r);
      }
      if (step.centre !== undefined) {
        var lo = Math.max(0, step.centre - step.window), hi = Math.min(S - 1, step.centre + step.window);
        g.appendChild(svgEl("rect", { "class": "window", x: left + lo * cell + cell / 2, y: top + t * cell + 2, width: (hi - lo) * cell,
                                      height: cell - 4, fill: "none", stroke: "#d62728", "stroke-width": 1 }));
        g.appendChild(svgEl("circle", { "class": "centre", cx: left + step.centre * cell + cell / 2, cy: top + t * cell + cell / 2, r: 3, fill: "#d62728" }));
      }
      g.appendChild(svgEl("rect", { "class": "frame", x: left, y: top + t * cell, width: S * cell, height: cell, fill: "none" }));
      g.addEventListener("mouseenter", function () { g.classList.add("hl"); });
      g.addEventListener("mouseleave", function () { g.classList.remove("hl"); });
      g.addEventListener("click", function () { chosen.step = t; renderStep(); });
      svg.appendChild(g);
    });
    main.appendChild(el("h2", { text: "Alignment over decoding steps" }));
    main.appendChild(el("p", { cls: "muted", text: data.steps[0].centre !== undefined
        ? "Rows: output words; columns: source words. Red: local-p's predicted centre p_t and its window [p_t - D, p_t + D]. Click a row for its computation."
        : "Rows: output words; columns: source words; darker is more weight. Click a row for its computation." }));
    main.appendChild(svg);
    var computation = el("section", { id: "computation" });
    main.appendChild(computation);
    renderStep();

    function renderStep() {
      var step = data.steps[chosen.step];
      computation.innerHTML = "";
      computation.appendChild(el("h2", { id: "computation-title", text: "The computation: step " + (chosen.step + 1) + " '" + data.output[chosen.step] + "'" }));
      computation.appendChild(el("p", { cls: "muted", text: step.centre !== undefined
          ? "Local-p: score(h_t, h_s) inside the window, softmax, times exp(-(s - p_t)^2 / (2 (D/2)^2)); p_t = " + step.centre
          : "Additive attention: e_s = v^T tanh(W s_{t-1} + U h_s), weights = softmax(e)." }));
      var table = el("table", { cls: "data mono", id: "computation-table" });
      table.appendChild(el("tr", {}, ["s", "source", "score e_s", "weight"].map(function (t) { return el("th", { text: t }); })));
      step.w.forEach(function (w, s) {
        table.appendChild(el("tr", {}, [String(s + 1), data.source[s], fmt(step.scores[s], 3), fmt(w / 10000, 4)].map(function (t, n) {
          return el("td", { cls: n === 1 ? "left" : "", text: t }); })));
      });
      computation.appendChild(table);
    }
  }
})();
