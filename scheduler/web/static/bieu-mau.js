/* The unit's form, as figures are typed: each indicator's percentage (or mean) and whether it
   meets its target, computed the way the server does (scheduler/collect/validate.py,
   scheduler/report/wording.py). Only a help: the form is checked again on the server and works
   the same without this script. */
(function () {
  "use strict";
  var NUMBER = /^\d{1,3}([. ]\d{3})+$|^\d+$/;
  var PERCENT = /^\d+([.,]\d+)?\s*%$/;
  var EPS = 1e-9;
  var MAX_COUNT = 1e9;

  function parse(text) {
    text = text.replace(/[\u00a0\u202f]/g, " ").trim();
    if (!NUMBER.test(text)) { return null; }
    var value = parseInt(text.replace(/[. ]/g, ""), 10);
    return value <= MAX_COUNT ? value : null;
  }

  function met(op, goal, value) {
    if (op === ">=") { return value >= goal - EPS; }
    if (op === ">") { return value > goal + EPS; }
    if (op === "<=") { return value <= goal + EPS; }
    if (op === "<") { return value < goal - EPS; }
    return Math.abs(value - goal) < EPS;
  }

  function grouped(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "."); }

  function comma(value, decimals) { return value.toFixed(decimals).replace(".", ","); }

  // 94,6%; with more decimals where one would cross the target (99,96% against "= 100%").
  function percent(value, op, goal) {
    var decimals = 1, shown = Math.round(value * 10) / 10;
    while (op && met(op, goal, shown) !== met(op, goal, value) && decimals < 4) {
      decimals += 1;
      var scale = Math.pow(10, decimals);
      shown = value < goal ? Math.floor(value * scale) / scale : Math.round(value * scale) / scale;
    }
    return comma(shown, decimals) + "%";
  }

  function amount(value) {
    return Math.abs(value - Math.round(value)) < 0.05 ? grouped(Math.round(value)) : comma(value, 1);
  }

  function labelOf(input) {
    var label = document.querySelector('label[for="' + input.id + '"]');
    return label ? label.textContent.trim() : "";
  }

  function byId(id) { return id ? document.getElementById(id) : null; }

  // What one indicator's typed figures make: [text, "met" | "missed" | "wrong" | ""], or null to say nothing.
  function judge(set) {
    var id = set.id.replace(/^ct-/, "");
    var kps = byId(id + "__kps");
    if (kps && kps.checked) { return null; }
    var numInput = byId(id + "__num");
    var denInput = byId(id + "__den") || byId(set.getAttribute("data-over"));
    if (!numInput) { return null; }
    var inputs = denInput ? [numInput, denInput] : [numInput];
    // What the server said about these very figures stands; the script speaks once they change.
    var untouched = inputs.every(function (input) { return input.value === input.defaultValue; });
    if (untouched && set.querySelector(".error")) { return null; }
    for (var i = 0; i < inputs.length; i++) {
      if (PERCENT.test(inputs[i].value.trim())) {
        return ["“" + labelOf(inputs[i]) + "”: ghi số lượng (số nguyên), không ghi tỷ lệ", "wrong"];
      }
    }
    var kind = set.getAttribute("data-kind"), unit = set.getAttribute("data-unit") || "";
    var op = set.getAttribute("data-op"), goal = parseFloat(set.getAttribute("data-goal"));
    var num = parse(numInput.value), value, shown;
    if (num === null) { return null; }
    if (kind === "count") {
      if (!op) { return null; }
      value = num;
      shown = (grouped(num) + " " + unit).trim();
    } else {
      var den = denInput ? parse(denInput.value) : null;
      if (den === null) { return null; }
      var over = set.getAttribute("data-over");
      var parentNum = over ? byId(over.replace(/__den$/, "__num")) : null;
      if (parentNum && parse(parentNum.value) !== null && num > parse(parentNum.value)) {
        return ["“" + labelOf(numInput).replace(/^Trong đó: /, "") + "” lớn hơn “" + labelOf(parentNum) +
                "”: số “trong đó” là một phần của chỉ tiêu chính", "wrong"];
      }
      if (den === 0) {
        return over ? null : ["“" + labelOf(denInput) + "” bằng 0: nếu trong kỳ không có, chọn “Không phát sinh”", "wrong"];
      }
      if (kind === "ratio" && num > den) {
        return ["“" + labelOf(numInput) + "” (" + grouped(num) + ") lớn hơn “" + labelOf(denInput) + "” (" +
                grouped(den) + ")", "wrong"];
      }
      if (kind === "ratio") {
        value = 100 * num / den;
        shown = "Tỷ lệ: " + percent(value, op, goal);
      } else {
        value = num / den;
        shown = ("Bình quân: " + amount(value) + " " + unit).trim();
      }
    }
    if (!op) { return [shown + " (không giao mục tiêu)", ""]; }
    var ok = met(op, goal, value);
    return [shown + (ok ? " — đạt mục tiêu " : " — chưa đạt mục tiêu ") + set.getAttribute("data-goal-text"),
            ok ? "met" : "missed"];
  }

  function refresh() {
    var sets = document.querySelectorAll("fieldset.indicator");
    for (var i = 0; i < sets.length; i++) {
      var out = byId(sets[i].id.replace(/^ct-/, "") + "-tinh");
      if (!out) { continue; }
      var said = judge(sets[i]);
      out.hidden = !said;
      out.textContent = said ? said[0] : "";
      out.className = "live" + (said && said[1] ? " " + said[1] : "");
    }
  }

  function start() {
    var form = document.querySelector("form");
    if (!form) { return; }
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    refresh();
    // The error summary's links put the cursor in the field, not just scroll to it.
    var summary = byId("loi");
    if (summary) {
      summary.addEventListener("click", function (event) {
        var link = event.target.closest ? event.target.closest("a[href^='#']") : null;
        var target = link ? byId(link.getAttribute("href").slice(1)) : null;
        if (!target) { return; }
        event.preventDefault();
        var field = target.matches("input, textarea, select") ? target : target.querySelector("input, textarea, select");
        target.scrollIntoView({block: "center"});
        if (field) { field.focus({preventScroll: true}); }
      });
      if (!location.hash) { summary.focus({preventScroll: true}); }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
