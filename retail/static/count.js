// The count page: steppers for items without serial numbers, and the number of serials in the shelf box.
// Without JavaScript the page works the same (the boxes are plain inputs).
(function () {
  "use strict";
  document.querySelectorAll("button.step").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.for);
      var now = parseInt(input.value === "" ? input.placeholder : input.value, 10);
      if (isNaN(now)) { now = 0; }
      input.value = String(Math.max(0, now + parseInt(button.dataset.step, 10)));
    });
  });
  var shelf = document.getElementById("shelf");
  var shown = document.getElementById("scanned-count");
  if (shelf && shown) {
    var update = function () {
      var serials = shelf.value.split(/[\s,;，；、/|]+/).filter(function (s) { return s !== ""; });
      shown.textContent = " · " + new Set(serials).size + " ✓";
    };
    shelf.addEventListener("input", update);
    update();
  }
})();
