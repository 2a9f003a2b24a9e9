// safecampus page behaviour. No inline scripts (the Content-Security-Policy forbids them).
document.addEventListener("click", function (event) {
  var target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});

// An inspection item: choosing "fail" opens what is wrong, where, photos (pass and not
// applicable are saved as soon as they are tapped, by the form's hx-trigger).
document.addEventListener("change", function (event) {
  var input = event.target;
  if (input.type === "radio" && input.value === "fail" && input.closest(".check-item")) {
    var details = input.closest("form").querySelector("details.fail-details");
    if (details) {
      details.open = true;
    }
  }
});
