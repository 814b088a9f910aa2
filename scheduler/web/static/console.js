// The office console's one convenience: "Sao chép" copies a unit's link. Without JavaScript the
// link is still there, in a read-only box, to select and copy by hand.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) return;
  var box = document.getElementById(button.getAttribute("data-copy"));
  box.select();
  var done = function () { button.textContent = "Đã sao chép"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(box.value).then(done, function () { document.execCommand("copy"); done(); });
  } else {
    document.execCommand("copy");
    done();
  }
});
