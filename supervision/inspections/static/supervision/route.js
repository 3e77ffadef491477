// "Start from my location": ask the tablet for its position and reload the route from there.
(function () {
  var form = document.querySelector("[data-route-locate]");
  if (!form || !navigator.geolocation) return;
  var button = form.querySelector("[data-locate]");
  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        form.elements.from.value = position.coords.latitude.toFixed(6) + "," + position.coords.longitude.toFixed(6);
        form.submit();
      },
      function () { button.disabled = false; },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 }
    );
  });
})();
