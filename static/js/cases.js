// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // The language switcher submits as soon as a language is picked; its button is then redundant.
    var switcher = document.getElementById("language-switcher");
    if (switcher) {
      var select = switcher.querySelector("select");
      var button = switcher.querySelector("button");
      if (select && button) {
        button.hidden = true;
        select.addEventListener("change", function () { switcher.submit(); });
      }
    }
  });
})();
