// Routing suggestions beside a department choice (cases/_routing_suggestions.html).
// A suggestion's button chooses its department. On the intake page (data-url) the list is asked
// from GET /api/v1/routing-suggestions/ as the region, category and text change, and the first
// suggestion is preselected until the user picks a department themselves. Without this file the
// forms still work: the assign form is rendered with its suggestions and the first preselected.
(function () {
  "use strict";

  function choose(select, id) {
    if (select) { select.value = String(id); }
  }

  function bindButtons(box, select) {
    box.addEventListener("click", function (event) {
      var button = event.target.closest("button[data-department]");
      if (!button) { return; }
      choose(select, button.dataset.department);
      select.dataset.userChose = "1";
    });
  }

  function selectedText(id) {
    var field = document.getElementById(id);
    if (!field) { return ""; }
    if (field.tagName === "SELECT") {
      var option = field.options[field.selectedIndex];
      return option && option.value ? option.text : "";
    }
    return field.value;
  }

  function render(box, select, suggestions) {
    var list = box.querySelector("ol");
    list.textContent = "";
    suggestions.forEach(function (item) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.dataset.department = item.department.id;
      button.textContent = item.department.name;
      var score = document.createElement("span");
      score.className = "score";
      score.textContent = " " + Math.round(item.score * 100) + "% ";
      var why = document.createElement("span");
      why.className = "why";
      why.textContent = item.reason;
      item.similar.slice(0, 3).forEach(function (number, index) {
        why.append(index ? "、" : " · ");
        var link = document.createElement("a");
        link.href = box.dataset.ledgerUrl + "?q=" + encodeURIComponent(number);
        link.textContent = number;
        why.appendChild(link);
      });
      li.append(button, score, why);
      list.appendChild(li);
    });
    box.hidden = suggestions.length === 0;
    if (suggestions.length && select && !select.dataset.userChose) {
      choose(select, suggestions[0].department.id);
    }
  }

  function live(box, select) {
    var form = box.closest("form");
    var timer = null;
    var asked = 0;

    function ask() {
      var region = selectedText("id_region");
      var code = /(\d{6})/.exec(region);
      var description = selectedText("id_description").trim();
      if (!region || description.length < 4) { return; }
      var params = new URLSearchParams({
        region: code ? code[1] : region, category: selectedText("id_category"), description: description,
      });
      var mine = ++asked;
      fetch(box.dataset.url + "?" + params.toString(), {credentials: "same-origin",
                                                   headers: {Accept: "application/json",
                                                             "Accept-Language": document.documentElement.lang || "zh-hans"}})
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (suggestions) { if (mine === asked) { render(box, select, suggestions); } })
        .catch(function () { /* no suggestions: the form works as before */ });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(ask, 400);
    }

    form.addEventListener("input", function (event) { if (event.target.id === "id_description") { later(); } });
    form.addEventListener("change", function (event) {
      if (event.target === select) { select.dataset.userChose = "1"; return; }
      later();
    });
    ask();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".routing-suggestions").forEach(function (box) {
      var select = document.getElementById(box.dataset.select);
      bindButtons(box, select);
      if (box.dataset.url) { live(box, select); }
    });
  });
})();
