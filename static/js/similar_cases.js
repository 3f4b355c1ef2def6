// Before a case is saved, asks GET /api/v1/similar-cases/ whether the enterprise (its credit code)
// raised a problem with close wording in the last 365 days, and lists those cases above the submit
// button ("该企业近期已反映过类似问题"). The <output class="similar-preview" data-url=…> names the
// inputs; without this file the form still works and the case page shows them once saved.
(function () {
  "use strict";

  function setup(output) {
    var data = output.dataset;
    var codeInput = document.getElementById(data.codeInput);
    var textInput = document.getElementById(data.descriptionInput);
    if (!codeInput || !textInput) { return; }
    var asked = 0;
    var timer = null;

    function clear() {
      output.textContent = "";
      output.className = "similar-preview";
    }

    function show(cases) {
      clear();
      if (!cases.length) { return; }
      output.className = "similar-preview found";
      var title = document.createElement("strong");
      title.textContent = data.textFound;
      output.appendChild(title);
      var list = document.createElement("ul");
      cases.forEach(function (c) {
        var item = document.createElement("li");
        var label = data.states ? (JSON.parse(data.states)[c.state] || c.state) : c.state;
        item.textContent = c.number + " · " + String(c.received_at).slice(0, 10) + " · " + label;
        list.appendChild(item);
      });
      output.appendChild(list);
    }

    function update() {
      var code = codeInput.value.trim();
      var text = textInput.value.replace(/\s+/g, " ").trim();  // no line breaks in a query string
      if (code.length !== 18 || text.length < 2) { clear(); return; }
      var mine = ++asked;
      var url = data.url + "?credit_code=" + encodeURIComponent(code) + "&description=" + encodeURIComponent(text.slice(0, 2000));
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (mine !== asked) { return; }
          if (!result.ok) { clear(); return; }  // e.g. a credit code not valid yet: the form says so on saving
          show(result.body.similar || []);
        })
        .catch(function () { if (mine === asked) { clear(); } });
    }

    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 400);
    }

    [codeInput, textInput].forEach(function (input) {
      input.addEventListener("input", soon);
      input.addEventListener("change", soon);
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var outputs = document.querySelectorAll("output.similar-preview[data-url]");
    for (var i = 0; i < outputs.length; i++) { setup(outputs[i]); }
  });
})();
