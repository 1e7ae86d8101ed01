/* micrograd training report: the decision boundary at each checkpoint, behind a slider. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("rep-data").textContent);
  var canvas = document.getElementById("rep-canvas");
  if (!data || !canvas) { return; }
  var slider = document.getElementById("rep-step"), at = document.getElementById("rep-at");
  var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  var b = data.bounds, n = data.size;
  var fills = ["#f8c9c4", "#c3dcf5", "#cdebc5", "#f3e1b0", "#e0cdf0", "#c9ecec", "#f0cde2", "#dcdcdc"];
  var dots = ["#c53030", "#2b6cb0", "#2f855a", "#b7791f", "#6b46c1", "#2c7a7b", "#b83280", "#4a5568"];
  function px(x) { return (x - b[0]) / (b[1] - b[0]) * W; }
  function py(y) { return (b[3] - y) / (b[3] - b[2]) * H; }
  function draw(k) {
    var f = data.frames[k], cw = W / n, ch = H / n;
    for (var j = 0; j < n; j++) {
      for (var i = 0; i < n; i++) {
        ctx.fillStyle = fills[+f.grid[j * n + i] % fills.length];
        ctx.fillRect(Math.floor(i * cw), Math.floor(j * ch), Math.ceil(cw) + 1, Math.ceil(ch) + 1);
      }
    }
    data.points.forEach(function (p) {
      ctx.beginPath();
      ctx.arc(px(p[0]), py(p[1]), 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = dots[p[2] % dots.length];
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = "#ffffff";
      ctx.stroke();
    });
    var text = "step " + f.step + ": accuracy " + (100 * f.accuracy).toFixed(1) + "% on all " + data.points.length + " points";
    at.textContent = text;
    canvas.setAttribute("aria-label", "Decision boundary at " + text);
    slider.setAttribute("aria-valuetext", text);
  }
  slider.max = String(data.frames.length - 1);
  slider.value = String(data.frames.length - 1);
  slider.addEventListener("input", function () { draw(+slider.value); });
  draw(data.frames.length - 1);
})();
