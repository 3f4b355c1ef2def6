// Shows the due date a form would give before it is saved, asking GET /api/v1/calendar/due-date/.
// Each <output class="due-preview" data-url=…> names where the day of receipt and the number of
// working days come from (see cases/_due_preview.html). Without this file the forms still work;
// the due date is then shown once the case is saved.
(function () {
  "use strict";

  function firstError(body) {
    if (!body || typeof body !== "object") { return ""; }
    if (body.detail) { return String(body.detail); }
    for (var key in body) {
      if (Object.prototype.hasOwnProperty.call(body, key)) {
        var value = body[key];
        return String(Array.isArray(value) ? value[0] : value);
      }
    }
    return "";
  }

  function setup(output) {
    var data = output.dataset;
    var receivedInput = data.receivedInput ? document.getElementById(data.receivedInput) : null;
    var daysInput = data.daysInput ? document.getElementById(data.daysInput) : null;
    var daysByChoice = data.daysByChoice ? JSON.parse(data.daysByChoice) : null;
    var asked = 0;
    var timer = null;

    function received() {
      if (data.received) { return data.received; }  // a fixed day (an extension counts from the due date)
      var value = receivedInput ? receivedInput.value : "";
      return value ? value.slice(0, 10) : "";  // datetime-local "YYYY-MM-DDTHH:MM" → the local day
    }

    function days() {
      var value = daysInput ? daysInput.value : (data.days || "");
      if (daysByChoice) { return value ? String(daysByChoice[value] || "") : ""; }
      return value;
    }

    function show(text, state) {
      output.textContent = text;
      output.className = "due-preview" + (state ? " " + state : "");
    }

    function update() {
      var day = received();
      var n = days();
      if (!day || !n) { show(data.textEmpty || "", ""); return; }
      var mine = ++asked;
      var url = data.url + "?received=" + encodeURIComponent(day) + "&days=" + encodeURIComponent(n);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (mine !== asked) { return; }  // a later question is under way
          if (!result.ok) { show(firstError(result.body) || data.textFailed, "failed"); return; }
          var text = data.textDue.replace("{due}", result.body.due_date).replace("{days}", n);
          if (result.body.provisional) { text += " " + data.textProvisional; }
          show(text, result.body.provisional ? "provisional" : "");
        })
        .catch(function () { if (mine === asked) { show(data.textFailed, "failed"); } });
    }

    function soon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 250);
    }

    [receivedInput, daysInput].forEach(function (input) {
      if (input) {
        input.addEventListener("input", soon);
        input.addEventListener("change", soon);
      }
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var outputs = document.querySelectorAll("output.due-preview[data-url]");
    for (var i = 0; i < outputs.length; i++) { setup(outputs[i]); }
  });
})();
