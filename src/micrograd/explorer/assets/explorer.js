/* micrograd explorer: step through the forward and the backward pass of an expression graph.
 *
 * The page's data (window.MICROGRAD_DATA) comes from micrograd.explorer.graph_data: every number
 * and every line of text is micrograd's own (the narrator's), formatted in Python; this script
 * only shows them. Layout: dagre, one small layout per box (a neuron, a layer, a part), so a big
 * graph opens fast with its boxes closed.
 */
(function () {
  "use strict";
  var started = performance.now();
  var $ = function (id) { return document.getElementById(id); };
  // JSON has no NaN or infinities: graph_data writes them as strings, turned back here.
  var D = JSON.parse($("mg-data").textContent);
  var num = function (x) { return typeof x === "string" ? Number(x) : x; };
  D.data = D.data.map(num);
  D.grad = D.grad.map(num);
  D.steps.forEach(function (s) { s[2].forEach(function (c) { for (var j = 1; j < 4; j++) { c[j] = num(c[j]); } }); });
  var N = D.name.length, S = D.steps.length, ROOT = D.root;
  var T = N + 1 + S; // 0: nothing computed; 1..N: forward; N+1: root.grad = 1; then the steps

  // --- the graph's structure ---------------------------------------------------------------
  // Cluster 0 is the whole graph; group g of D.groups is cluster g + 1.
  var C = D.groups.length + 1;
  var parentOf = [-1], kindOf = ["top"], titleOf = [D.title];
  D.groups.forEach(function (g) { parentOf.push(g[2] + 1); titleOf.push(g[1]); kindOf.push(g[3]); });
  var depth = new Array(C).fill(0);
  for (var c = 1; c < C; c++) { for (var a = parentOf[c]; a >= 0; a = parentOf[a]) { depth[c]++; } }
  var clusterOf = D.group.map(function (g) { return g + 1; });
  var direct = [], children = [], size = new Array(C).fill(0), stepsIn = new Array(C).fill(0);
  var doneIn = new Array(C).fill(0);
  for (c = 0; c < C; c++) { direct.push([]); children.push([]); }
  for (c = 1; c < C; c++) { children[parentOf[c]].push(c); }
  for (var i = 0; i < N; i++) {
    direct[clusterOf[i]].push(i);
    for (c = clusterOf[i]; c >= 0; c = parentOf[c]) { size[c]++; }
  }
  var firstIn = new Array(C).fill(N); // the first node (topological order) inside each box
  for (i = 0; i < N; i++) {
    for (c = clusterOf[i]; c > 0 && firstIn[c] > i; c = parentOf[c]) { firstIn[c] = i; }
  }
  function first(key) { return key[0] === "c" ? firstIn[+key.slice(1)] : +key.slice(1); }
  D.steps.forEach(function (s) {
    for (var c = clusterOf[s[0]]; c >= 0; c = parentOf[c]) { stepsIn[c]++; }
  });

  function lca(a, b) {
    while (depth[a] > depth[b]) { a = parentOf[a]; }
    while (depth[b] > depth[a]) { b = parentOf[b]; }
    while (a !== b) { a = parentOf[a]; b = parentOf[b]; }
    return a;
  }
  // Every edge child -> parent's op, filed under the smallest box holding both ends.
  var edgesAt = [];
  for (c = 0; c < C; c++) { edgesAt.push([]); }
  for (i = 0; i < N; i++) {
    D.kids[i].forEach(function (k) { edgesAt[lca(clusterOf[k], clusterOf[i])].push([k, i]); });
  }

  // --- state: what is computed, the gradients so far -------------------------------------
  var t = 0;
  var grad = new Float64Array(N), gradText = new Array(N).fill("0");
  var undo = []; // per applied step: [child, old grad, old text] for each contribution
  var expanded = new Array(C).fill(false);
  expanded[0] = true;
  var finite = D.grad.filter(function (g) { return isFinite(g); }).map(Math.abs);
  var gmax = finite.length ? finite.reduce(function (a, b) { return Math.max(a, b); }, 0) : 0;

  function known(i) { return i < Math.min(t, N); }
  function backwardStarted() { return t > N; }

  function forwardTo(dirty) {
    if (t < N) { dirty.push(t); }
    else if (t === N) { grad[ROOT] = 1; gradText[ROOT] = "1"; dirty.all = true; }
    else {
      var s = D.steps[t - N - 1], saved = [];
      s[2].forEach(function (c) {
        saved.push([c[0], grad[c[0]], gradText[c[0]]]);
        grad[c[0]] = c[3]; gradText[c[0]] = c[4]; dirty.push(c[0]);
      });
      undo.push(saved);
      for (var cl = clusterOf[s[0]]; cl >= 0; cl = parentOf[cl]) { doneIn[cl]++; }
      dirty.push(s[0]);
    }
    t++;
  }
  function backTo(dirty) {
    t--;
    if (t < N) { dirty.push(t); }
    else if (t === N) { grad[ROOT] = 0; gradText[ROOT] = "0"; dirty.all = true; }
    else {
      var s = D.steps[t - N - 1], saved = undo.pop();
      for (var j = saved.length - 1; j >= 0; j--) {
        grad[saved[j][0]] = saved[j][1]; gradText[saved[j][0]] = saved[j][2]; dirty.push(saved[j][0]);
      }
      for (var cl = clusterOf[s[0]]; cl >= 0; cl = parentOf[cl]) { doneIn[cl]--; }
      dirty.push(s[0]);
    }
  }

  // --- sizes and layout (dagre, one layout per open box) ----------------------------------
  var CW = 6.7, LINE = 14, HEAD = 22, PAD = 10;
  var gradLen = new Array(N).fill(1);
  D.steps.forEach(function (s) {
    s[2].forEach(function (c) { gradLen[c[0]] = Math.max(gradLen[c[0]], c[4].length); });
  });
  function short(text, n) { return text.length > n ? text.slice(0, n - 1) + "\u2026" : text; }
  function valueSize(i) {
    var chars = Math.max(short(D.name[i], 28).length, 5 + D.dtext[i].length, 5 + gradLen[i], 10);
    return [Math.ceil(16 + CW * chars), 3 * LINE + 10];
  }
  function opSize(i) { return [Math.ceil(22 + CW * D.op[i].length), 24]; }
  function shutSize(c) { // wide enough for its title and "12345 values · 123/12345 steps"
    var sub = String(size[c]).length + String(stepsIn[c]).length * 2 + 17;
    return [Math.ceil(18 + CW * Math.max(short(titleOf[c], 44).length + 2, sub)), 2 * LINE + 16];
  }

  var layouts = new Array(C).fill(null);
  function itemIn(c, i, target) { // the item of box c that holds node i (its op, as a target)
    var cl = clusterOf[i];
    if (cl === c) { return (target && D.kids[i].length ? "o" : "v") + i; }
    while (parentOf[cl] !== c) { cl = parentOf[cl]; }
    return "c" + cl;
  }
  function layout(c) {
    if (layouts[c]) { return layouts[c]; }
    var g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 12, ranksep: 26, edgesep: 6, marginx: 6, marginy: 6, ranker: "tight-tree" });
    g.setDefaultEdgeLabel(function () { return {}; });
    direct[c].forEach(function (i) {
      var s = valueSize(i);
      g.setNode("v" + i, { width: s[0], height: s[1] });
      if (D.kids[i].length) {
        var o = opSize(i);
        g.setNode("o" + i, { width: o[0], height: o[1] });
        g.setEdge("o" + i, "v" + i);
      }
    });
    children[c].forEach(function (cc) {
      var s = expanded[cc] ? boxSize(cc) : shutSize(cc);
      g.setNode("c" + cc, { width: s[0], height: s[1] });
    });
    // Edges between values are all laid out. Edges into a box keep only the one from the
    // nearest item before it in the topological order: boxes of a big graph are joined by
    // hundreds of long edges, which would take dagre seconds to route (they are drawn anyway).
    var nearest = {};
    edgesAt[c].forEach(function (e) {
      var a = itemIn(c, e[0], false), b = itemIn(c, e[1], true);
      if (a === b) { return; }
      if (a[0] !== "c" && b[0] !== "c") { g.setEdge(a, b); return; }
      if (!nearest[b] || first(a) > first(nearest[b])) { nearest[b] = a; }
    });
    Object.keys(nearest).forEach(function (b) { g.setEdge(nearest[b], b); });
    dagre.layout(g);
    var items = {}, edges = {};
    g.nodes().forEach(function (k) {
      var n = g.node(k);
      items[k] = { x: n.x - n.width / 2, y: n.y - n.height / 2, w: n.width, h: n.height };
    });
    g.edges().forEach(function (e) { edges[e.v + ">" + e.w] = g.edge(e).points; });
    var gr = g.graph();
    layouts[c] = { w: Math.max(gr.width || 0, 60), h: Math.max(gr.height || 0, 30), items: items, edges: edges };
    return layouts[c];
  }
  function boxSize(c) {
    var L = layout(c);
    return [Math.max(L.w + 2 * PAD, shutSize(c)[0]), L.h + HEAD + PAD];
  }
  function toggle(c, open) {
    if (c === 0 || expanded[c] === open) { return; }
    expanded[c] = open;
    for (var a = parentOf[c]; a >= 0; a = parentOf[a]) { layouts[a] = null; }
  }

  // --- where everything is, and what stands for a hidden node -----------------------------
  var pos = {}; // item key -> absolute {x, y, w, h}
  var origin = new Array(C).fill(null); // inner origin of each open, visible box
  function place(c, ox, oy) {
    origin[c] = [ox, oy];
    var L = layout(c);
    Object.keys(L.items).forEach(function (k) {
      var it = L.items[k];
      pos[k] = { x: ox + it.x, y: oy + it.y, w: it.w, h: it.h };
      if (k[0] === "c" && expanded[+k.slice(1)]) { place(+k.slice(1), ox + it.x + PAD, oy + it.y + HEAD); }
    });
  }
  function rep(i, target) { // the visible item standing for node i: itself, or its outermost shut box
    var shut = -1;
    for (var c = clusterOf[i]; c > 0; c = parentOf[c]) { if (!expanded[c]) { shut = c; } }
    if (shut > 0) { return "c" + shut; }
    return (target && D.kids[i].length ? "o" : "v") + i;
  }
  function visibleBox(c) {
    for (var a = c; a > 0; a = parentOf[a]) { if (!expanded[a]) { return false; } }
    return true;
  }

  // --- drawing ------------------------------------------------------------------------------
  var svg = $("mg-svg"), view = $("mg-view");
  var els = {}, edgeEls = {}, alias = {}, BUNDLE = 24;
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function edgePath(a, b, points) {
    if (points) {
      return "M" + points.map(function (p) { return p.x.toFixed(1) + "," + p.y.toFixed(1); }).join("L");
    }
    var p = pos[a], q = pos[b];
    var x1 = p.x + p.w, y1 = p.y + p.h / 2, x2 = q.x, y2 = q.y + q.h / 2;
    var dx = Math.max(30, Math.abs(x2 - x1) / 2);
    return "M" + x1.toFixed(1) + "," + y1.toFixed(1) + "C" + (x1 + dx).toFixed(1) + "," + y1.toFixed(1) +
      " " + (x2 - dx).toFixed(1) + "," + y2.toFixed(1) + " " + x2.toFixed(1) + "," + y2.toFixed(1);
  }
  function render() {
    var began = performance.now();
    pos = {}; origin.fill(null);
    place(0, 0, 0);
    var boxes = [], edges = [], nodes = [];
    var seen = {};
    alias = {};
    for (var c = 0; c < C; c++) {
      if (!origin[c]) { continue; }
      if (c > 0) {
        var b = pos["c" + c];
        boxes.push('<g class="mg-box mg-' + kindOf[c] + '" data-k="c' + c + '">' +
          '<rect x="' + b.x + '" y="' + b.y + '" width="' + b.w + '" height="' + b.h + '" rx="6"></rect>' +
          '<text class="mg-head" tabindex="0" role="button" aria-expanded="true" data-box="' + c + '" x="' +
          (b.x + 8) + '" y="' + (b.y + 15) + '">\u25BE ' + esc(short(titleOf[c], 60)) + "</text></g>");
      }
      var L = layouts[c], o = origin[c];
      var shift = function (pts) { return pts.map(function (p) { return { x: p.x + o[0], y: p.y + o[1] }; }); };
      // Edges into or out of an open box: many between the same two items of this box (a
      // dense layer: 64 x 64) are drawn as one bundle, a few one by one.
      var buckets = {};
      edgesAt[c].forEach(function (e) {
        var a = rep(e[0], false), bk = rep(e[1], true), key = a + ">" + bk;
        if (a === bk || seen[key]) { return; }
        seen[key] = true;
        var ca = itemIn(c, e[0], false), cb = itemIn(c, e[1], true);
        if (ca === a && cb === bk) { // both ends are items of this box's layout: dagre's route
          var pts = L.edges[key] ? shift(L.edges[key]) : null;
          edges.push('<path class="mg-edge' + (pts ? "" : " mg-far") + '" data-e="' + key + '" d="' + edgePath(a, bk, pts) + '"></path>');
          return;
        }
        (buckets[ca + ">" + cb] = buckets[ca + ">" + cb] || []).push([a, bk, key]);
      });
      Object.keys(buckets).forEach(function (bkey) {
        var list = buckets[bkey];
        if (list.length <= BUNDLE) {
          list.forEach(function (x) { edges.push('<path class="mg-edge mg-far" data-e="' + x[2] + '" d="' + edgePath(x[0], x[1], null) + '"></path>'); });
          return;
        }
        var ends = bkey.split(">");
        list.forEach(function (x) { alias[x[2]] = bkey; });
        edges.push('<path class="mg-edge mg-bundle" data-e="' + bkey + '" d="' + edgePath(ends[0], ends[1], null) +
          '"><title>' + list.length + " edges</title></path>");
      });
      direct[c].forEach(function (i) {
        var p = pos["v" + i];
        if (D.kids[i].length) {
          var q = pos["o" + i], key = "o" + i + ">v" + i;
          edges.push('<path class="mg-edge" data-e="' + key + '" d="' + edgePath("o" + i, "v" + i, L.edges[key] ? shift(L.edges[key]) : null) + '"></path>');
          nodes.push('<g class="mg-o" data-k="o' + i + '"><ellipse cx="' + (q.x + q.w / 2) + '" cy="' + (q.y + q.h / 2) +
            '" rx="' + q.w / 2 + '" ry="' + q.h / 2 + '"></ellipse><text x="' + (q.x + q.w / 2) + '" y="' + (q.y + q.h / 2 + 4) +
            '">' + esc(D.op[i]) + "</text></g>");
        }
        nodes.push('<g class="mg-v" data-k="v' + i + '" data-id="' + i + '" data-name="' + esc(D.name[i]) + '">' +
          '<title>' + esc(D.ftext[i]) + "</title>" +
          '<rect x="' + p.x + '" y="' + p.y + '" width="' + p.w + '" height="' + p.h + '" rx="4"></rect>' +
          '<text class="mg-nm" x="' + (p.x + 8) + '" y="' + (p.y + 16) + '">' + esc(short(D.name[i], 28)) + "</text>" +
          '<text class="mg-dt" x="' + (p.x + 8) + '" y="' + (p.y + 16 + LINE) + '"></text>' +
          '<text class="mg-gr" x="' + (p.x + 8) + '" y="' + (p.y + 16 + 2 * LINE) + '"></text></g>');
      });
      children[c].forEach(function (cc) {
        if (expanded[cc]) { return; }
        var b = pos["c" + cc];
        nodes.push('<g class="mg-shut mg-' + kindOf[cc] + '" data-k="c' + cc + '" data-box="' + cc +
          '" tabindex="0" role="button" aria-expanded="false" aria-label="' + esc(titleOf[cc]) + ', ' + size[cc] +
          ' values: open">' + '<title>' + esc(titleOf[cc]) + " (click to open)</title>" +
          '<rect x="' + b.x + '" y="' + b.y + '" width="' + b.w + '" height="' + b.h + '" rx="6"></rect>' +
          '<text x="' + (b.x + 8) + '" y="' + (b.y + 16) + '">\u25B8 ' + esc(short(titleOf[cc], 44)) + "</text>" +
          '<text class="mg-sub" x="' + (b.x + 8) + '" y="' + (b.y + 16 + LINE) + '"></text></g>');
      });
    }
    view.innerHTML = boxes.join("") + edges.join("") + nodes.join("");
    els = {}; edgeEls = {};
    view.querySelectorAll("[data-k]").forEach(function (el) { els[el.getAttribute("data-k")] = el; });
    view.querySelectorAll("[data-e]").forEach(function (el) { edgeEls[el.getAttribute("data-e")] = el; });
    refreshAll();
    timing.render = performance.now() - began;
  }

  // --- colours and the numbers on the nodes --------------------------------------------------
  function mix(rgb, f) {
    return "rgb(" + rgb.map(function (v) { return Math.round(255 + (v - 255) * f); }).join(",") + ")";
  }
  function fill(g) {
    if (g !== g) { return "#cbd5e0"; } // nan
    if (g === 0 || gmax === 0 && isFinite(g)) { return "#ffffff"; }
    var f = isFinite(g) ? Math.sqrt(Math.min(Math.abs(g) / gmax, 1)) : 1;
    return mix(g < 0 ? [197, 48, 48] : [43, 108, 176], 0.12 + 0.5 * f);
  }
  function refreshNode(i) {
    var el = els["v" + i];
    if (!el) { return; }
    var dt = el.children[3], gr = el.children[4]; // title, rect, name, data, grad
    var on = known(i);
    dt.textContent = "data " + (on ? D.dtext[i] : "?");
    el.classList.toggle("mg-unknown", !on);
    el.setAttribute("data-value", on ? String(D.data[i]) : "");
    if (backwardStarted()) {
      gr.textContent = "grad " + gradText[i];
      el.setAttribute("data-grad", String(grad[i]));
      el.children[1].style.fill = fill(grad[i]);
    } else {
      gr.textContent = "grad \u2013";
      el.removeAttribute("data-grad");
      el.children[1].style.fill = "";
    }
  }
  function refreshBox(c) {
    var el = els["c" + c];
    if (!el || el.classList.contains("mg-box")) { return; }
    var text = size[c] + " values";
    if (stepsIn[c]) { text += " \u00B7 " + doneIn[c] + "/" + stepsIn[c] + " steps"; }
    el.children[3].textContent = text;
  }
  function refreshAll() {
    for (var i = 0; i < N; i++) { if (els["v" + i]) { refreshNode(i); } }
    for (var c = 1; c < C; c++) { refreshBox(c); }
    highlight();
  }

  // --- what the current step touches -------------------------------------------------------
  var marked = [];
  function mark(key, cls) {
    var el = els[key] || edgeEls[key] || edgeEls[alias[key]];
    if (el) { el.classList.add(cls); marked.push([el, cls]); }
  }
  function focusNode() { // the node the current position is about, or -1
    if (t === 0) { return -1; }
    if (t <= N) { return t - 1; }
    if (t === N + 1) { return ROOT; }
    return D.steps[t - N - 2][0];
  }
  function focusKeys() { // the items the current position is about: the node, its op, its children
    var i = focusNode();
    if (i < 0) { return []; }
    var keys = [rep(i, false), rep(i, true)];
    if (t !== N + 1) { D.kids[i].forEach(function (k) { keys.push(rep(k, false)); }); }
    return keys;
  }
  function highlight() {
    marked.forEach(function (m) { m[0].classList.remove(m[1]); });
    marked = [];
    var i = focusNode();
    if (i < 0) { return; }
    var me = rep(i, false), op = rep(i, true);
    mark(me, "mg-hot"); mark(op, "mg-hot");
    if (op !== me) { mark(op + ">" + me, "mg-hot"); }
    if (t > N + 1 || t <= N) {
      D.kids[i].forEach(function (k) {
        var kr = rep(k, false);
        mark(kr + ">" + op, "mg-hot");
        if (t > N + 1) { mark(kr, "mg-recv"); }
      });
    }
  }

  // --- the narration -------------------------------------------------------------------------
  function narrate() {
    var phase = $("mg-phase"), text = $("mg-text");
    if (t === 0) {
      phase.textContent = "Ready: " + N + " values, " + S + " backward steps";
      text.textContent = D.intro;
    } else if (t <= N) {
      phase.textContent = "Forward " + t + " of " + N;
      text.textContent = D.ftext[t - 1];
    } else if (t === N + 1) {
      phase.textContent = "Backward: the seed";
      text.textContent = D.seed;
    } else {
      var k = t - N - 1;
      phase.textContent = "Backward step " + k + " of " + S;
      text.textContent = D.steps[k - 1][1] + (t === T ? "\n\n" + D.done : "");
    }
    $("mg-pos").textContent = t + " / " + T;
    $("mg-slider").value = String(t);
  }

  // --- moving through time -------------------------------------------------------------------
  function go(target) {
    target = Math.max(0, Math.min(T, Math.round(target)));
    if (target === t) { return; }
    var dirty = [];
    dirty.all = Math.abs(target - t) > 200;
    while (t < target) { forwardTo(dirty); }
    while (t > target) { backTo(dirty); }
    if (autoOpen.checked) { openTo(focusNode()); }
    if (dirty.all) { refreshAll(); } else {
      dirty.forEach(refreshNode);
      var boxes = {};
      dirty.forEach(function (i) { for (var c = clusterOf[i]; c > 0; c = parentOf[c]) { boxes[c] = 1; } });
      Object.keys(boxes).forEach(function (c) { refreshBox(+c); });
      highlight();
    }
    narrate();
    if (follow.checked) { reveal(focusKeys()); }
  }
  function openTo(i) {
    if (i < 0) { return; }
    var changed = false;
    for (var c = clusterOf[i]; c > 0; c = parentOf[c]) {
      if (!expanded[c]) { toggle(c, true); changed = true; }
    }
    if (changed) { render(); }
  }

  // --- pan and zoom -----------------------------------------------------------------------------
  var vx = 0, vy = 0, vk = 1;
  function apply() { view.setAttribute("transform", "translate(" + vx + "," + vy + ") scale(" + vk + ")"); }
  function fit(readable) {
    var L = layout(0), r = svg.getBoundingClientRect();
    var w = Math.max(r.width, 100), h = Math.max(r.height, 100);
    vk = Math.max(Math.min(w / (L.w + 40), h / (L.h + 40), 1.5), 0.02);
    vx = (w - L.w * vk) / 2; vy = (h - L.h * vk) / 2;
    if (readable === true && vk < 0.7) { // too small to read: keep the size, show the left end
      vk = 0.7; vx = 20; vy = Math.min(20, (h - L.h * vk) / 2);
    }
    apply();
  }
  function zoom(f, cx, cy) {
    var r = svg.getBoundingClientRect();
    if (cx === undefined) { cx = r.width / 2; cy = r.height / 2; }
    var k = Math.max(0.02, Math.min(8, vk * f));
    vx = cx - (cx - vx) * (k / vk); vy = cy - (cy - vy) * (k / vk); vk = k;
    apply();
  }
  function reveal(keys) { // pan (zooming out if need be) so that these items are in view
    var box = null;
    keys.forEach(function (key) {
      var p = pos[key];
      if (!p) { return; }
      box = box ? { x: Math.min(box.x, p.x), y: Math.min(box.y, p.y), x2: Math.max(box.x2, p.x + p.w), y2: Math.max(box.y2, p.y + p.h) }
        : { x: p.x, y: p.y, x2: p.x + p.w, y2: p.y + p.h };
    });
    if (!box) { return; }
    var r = svg.getBoundingClientRect(), m = 16;
    var inView = vx + box.x * vk >= 0 && vy + box.y * vk >= 0 && vx + box.x2 * vk <= r.width && vy + box.y2 * vk <= r.height;
    if (inView) { return; }
    var need = Math.min((r.width - 2 * m) / (box.x2 - box.x), (r.height - 2 * m) / (box.y2 - box.y));
    if (vk > need) { vk = Math.max(need, 0.3); }
    if (vk < 0.5 && need >= 0.5) { vk = Math.min(need, 0.8); }
    vx = r.width / 2 - (box.x + box.x2) / 2 * vk; vy = r.height / 2 - (box.y + box.y2) / 2 * vk;
    apply();
  }
  var drag = null;
  svg.addEventListener("mousedown", function (e) {
    if (e.button !== 0 || e.target.closest("[data-box]")) { return; }
    drag = [e.clientX - vx, e.clientY - vy];
    svg.classList.add("mg-dragging");
  });
  window.addEventListener("mousemove", function (e) {
    if (drag) { vx = e.clientX - drag[0]; vy = e.clientY - drag[1]; apply(); }
  });
  window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("mg-dragging"); });
  svg.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = svg.getBoundingClientRect();
    zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
  }, { passive: false });

  // --- boxes open and close ------------------------------------------------------------------
  function flip(c) {
    var before = pos["c" + c];
    toggle(c, !expanded[c]);
    render();
    var after = pos["c" + c];
    if (before && after) { vx += (before.x - after.x) * vk; vy += (before.y - after.y) * vk; apply(); }
    var again = view.querySelector('[data-box="' + c + '"]');
    if (again) { again.focus({ preventScroll: true }); }
  }
  view.addEventListener("click", function (e) {
    var el = e.target.closest("[data-box]");
    if (el) { flip(+el.getAttribute("data-box")); }
  });
  view.addEventListener("keydown", function (e) {
    var el = e.target.closest("[data-box]");
    if (el && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); e.stopPropagation(); flip(+el.getAttribute("data-box")); }
  });

  // --- search ----------------------------------------------------------------------------------
  var search = $("mg-search"), found = [], foundAt = -1, foundKey = null;
  function findMatches() {
    var q = search.value.trim().toLowerCase();
    found = [];
    foundAt = -1;
    if (q) {
      for (var i = 0; i < N && found.length < 10000; i++) {
        if (D.name[i].toLowerCase().indexOf(q) >= 0 || D.label[i].toLowerCase().indexOf(q) >= 0) { found.push(i); }
      }
    }
    $("mg-found").textContent = q ? found.length + (found.length === 1 ? " match" : " matches") : "";
  }
  function nextMatch() {
    if (!found.length) { return; }
    foundAt = (foundAt + 1) % found.length;
    var i = found[foundAt];
    openTo(i);
    if (foundKey && els[foundKey]) { els[foundKey].classList.remove("mg-found"); }
    foundKey = "v" + i;
    if (els[foundKey]) { els[foundKey].classList.add("mg-found"); }
    reveal([foundKey]);
    $("mg-found").textContent = (foundAt + 1) + " of " + found.length + ": " + D.name[i];
  }
  search.addEventListener("input", findMatches);
  search.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); nextMatch(); }
    if (e.key === "Escape") { search.blur(); }
  });

  // --- play, keys, buttons --------------------------------------------------------------------
  var timer = null, playBtn = $("mg-play"), follow = $("mg-follow"), autoOpen = $("mg-open");
  function setPlaying(on) {
    if (on && t >= T) { go(0); }
    if (timer) { clearInterval(timer); timer = null; }
    if (on) {
      var rate = +$("mg-speed").value, per = Math.max(1, Math.round(rate / 60));
      timer = setInterval(function () {
        if (t >= T) { setPlaying(false); return; }
        go(t + per);
      }, Math.max(1000 / rate * per, 16));
    }
    playBtn.setAttribute("aria-pressed", on ? "true" : "false");
    playBtn.setAttribute("aria-label", on ? "Pause" : "Play");
    playBtn.textContent = on ? "pause" : "play";
    $("mg-narration").setAttribute("aria-live", on ? "off" : "polite");
  }
  function stepBy(d) { setPlaying(false); go(t + d); }
  $("mg-home").addEventListener("click", function () { setPlaying(false); go(0); });
  $("mg-prev").addEventListener("click", function () { stepBy(-1); });
  $("mg-next").addEventListener("click", function () { stepBy(1); });
  $("mg-end").addEventListener("click", function () { setPlaying(false); go(T); });
  $("mg-back").addEventListener("click", function () { setPlaying(false); go(N + 1); });
  playBtn.addEventListener("click", function () { setPlaying(!timer); });
  $("mg-speed").addEventListener("change", function () { if (timer) { setPlaying(true); } });
  $("mg-slider").addEventListener("input", function (e) { setPlaying(false); go(+e.target.value); });
  $("mg-zoom-in").addEventListener("click", function () { zoom(1.25); });
  $("mg-zoom-out").addEventListener("click", function () { zoom(0.8); });
  $("mg-fit").addEventListener("click", function () { fit(); });
  $("mg-collapse").addEventListener("click", function () {
    for (var c = 1; c < C; c++) { toggle(c, false); }
    render(); fit(true);
  });
  document.addEventListener("keydown", function (e) {
    // Keys on the page itself or in the explorer; not in a form field, nor in whatever a page
    // holds around the explorer (the training report's slider has arrow keys of its own).
    if (e.target !== document.body && !$("mg-explorer").contains(e.target)) { return; }
    var tag = e.target.tagName;
    if (tag === "INPUT" && e.target.type !== "range" && e.target.type !== "checkbox" || tag === "SELECT" || tag === "TEXTAREA") { return; }
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    var k = e.key, handled = true;
    if (k === "ArrowRight") { stepBy(1); }
    else if (k === "ArrowLeft") { stepBy(-1); }
    else if (k === " " || k === "Spacebar") { setPlaying(!timer); }
    else if (k === "Home") { setPlaying(false); go(0); }
    else if (k === "End") { setPlaying(false); go(T); }
    else if (k === "b" || k === "B") { setPlaying(false); go(N + 1); }
    else if (k === "+" || k === "=") { zoom(1.25); }
    else if (k === "-" || k === "_") { zoom(0.8); }
    else if (k === "0") { fit(); }
    else if (k === "/") { search.focus(); }
    else { handled = false; }
    if (handled) { e.preventDefault(); }
  });

  // --- start: open boxes while the picture stays small, lay out, draw -----------------------
  var timing = {};
  (function openSmall(budget) { // level by level: a level opens whole, or not at all
    var shown = direct[0].length + children[0].length, level = children[0].slice();
    while (level.length) {
      var more = 0, next = [];
      level.forEach(function (c) { more += direct[c].length + children[c].length - 1; next = next.concat(children[c]); });
      if (shown + more > budget) { break; }
      level.forEach(function (c) { expanded[c] = true; });
      shown += more;
      level = next;
    }
  })(D.open_budget);
  $("mg-slider").max = String(T);
  $("mg-svg-title").textContent = D.alt;
  $("mg-svg-desc").textContent = D.desc;
  var laid = performance.now();
  layout(0);
  timing.layout = performance.now() - laid;
  render();
  fit(true);
  narrate();
  timing.script = performance.now() - started;
  requestAnimationFrame(function () {
    requestAnimationFrame(function () { timing.firstPaint = performance.now(); });
  });
  window.addEventListener("resize", function () { fit(true); });
  // For tests and the curious: the position, and a way to move to one.
  window.micrograd = {
    timing: timing, T: T, N: N, S: S,
    position: function () { return t; },
    go: function (x) { go(x); },
    open: function (c, on) { toggle(c, on); render(); },
    expanded: function () { return expanded.slice(); },
  };
})();
