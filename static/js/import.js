// The import page's progress bar: polls the job's status and reloads once it is finished.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("import-progress");
    if (!box || !window.fetch) { return; }
    var url = box.getAttribute("data-status-url");
    var bar = document.getElementById("import-bar");
    var processed = document.getElementById("import-processed");
    var phase = document.getElementById("import-phase");
    var labels = {};
    var template = document.getElementById("import-phase-labels");
    if (template && template.content) {
      Array.prototype.forEach.call(template.content.querySelectorAll("[data-phase]"), function (el) {
        labels[el.getAttribute("data-phase")] = el.textContent;
      });
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (job) {
          if (!job) { window.setTimeout(poll, 3000); return; }
          bar.value = job.percent;
          bar.textContent = job.percent + "%";
          processed.textContent = job.processed;
          if (labels[job.phase]) { phase.textContent = labels[job.phase]; }
          if (job.status === "done" || job.status === "failed") {
            window.location.reload();
          } else {
            window.setTimeout(poll, 1000);
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    }
    window.setTimeout(poll, 500);
  });
})();
