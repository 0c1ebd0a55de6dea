// compare's report.html: the page is static; this marks it ready for the browser tests and lets
// a click on a model's name in the summary highlight its rows everywhere.
"use strict";
(function () {
  var rows = document.querySelectorAll("#summary tr td:first-child");
  Array.prototype.forEach.call(rows, function (cell) {
    cell.style.cursor = "pointer";
    cell.title = "highlight this model's rows";
    cell.addEventListener("click", function () {
      var name = cell.textContent, on = !cell.parentNode.classList.contains("picked");
      Array.prototype.forEach.call(document.querySelectorAll("table.data tr"), function (tr) {
        var th = tr.querySelector("td:first-child, th:first-child");
        tr.classList.toggle("picked", on && th !== null && th.textContent === name);
      });
    });
  });
  window.reportReady = true;
})();
