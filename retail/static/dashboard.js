// The planners' action lists: a header checkbox ticks every row of its list (the rows stay plain checkboxes
// without it: the forms work with scripts off).
document.querySelectorAll("input[data-all]").forEach(function (all) {
  all.hidden = false;
  all.addEventListener("change", function () {
    all.form.querySelectorAll("input[name=id]").forEach(function (box) { box.checked = all.checked; });
  });
});
