// "Scan code" on the task list: read the enterprise's QR code with the camera, where the browser
// has BarcodeDetector, and open its /c/<token> page. Only codes of this platform are followed,
// and always on this site: a QR code pointing elsewhere is reported, never opened.
// Without camera support the button stays hidden, the page says why, and the typed form does the
// same job.
(function () {
  "use strict";
  var box = document.querySelector(".lp-scan");
  if (!box) {
    return;
  }
  var why = box.querySelector("[data-scan-why]");
  if (!window.isSecureContext && why) {
    // Browsers give the camera only to secure pages: say so rather than "cannot read codes".
    why.textContent = why.dataset.insecure;
  }
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return; // the reason stays on the page, with the typed form below it
  }
  var texts = box.dataset;
  var camera = box.querySelector(".lp-scan-camera");
  var startButton = box.querySelector("[data-scan-start]");
  var stopButton = box.querySelector("[data-scan-stop]");
  var video = box.querySelector("video");
  var status = box.querySelector("[data-scan-status]");
  var TOKEN = /^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{22}$/i;
  var stream = null;
  var timer = null;
  var detector = null;

  function origins() {
    var allowed = [window.location.origin];
    try {
      allowed.push(new URL(texts.publicBase).origin); // the address printed in the codes
    } catch (error) {
      // no public address configured: this site only
    }
    return allowed;
  }

  // The path to open for a scanned text, or null when it is not one of this platform's codes.
  function target(text) {
    var url;
    try {
      url = new URL(text.trim(), window.location.href);
    } catch (error) {
      return null;
    }
    if (origins().indexOf(url.origin) < 0) {
      return null;
    }
    var match = url.pathname.match(/^\/c\/([^/]+)$/);
    if (!match || !TOKEN.test(match[1])) {
      return null;
    }
    return "/c/" + match[1].toUpperCase();
  }

  function say(text, kind) {
    status.textContent = text || "";
    status.className = "lp-status" + (kind ? " " + kind : "");
  }

  function stop() {
    if (timer) {
      window.clearTimeout(timer);
      timer = null;
    }
    if (stream) {
      stream.getTracks().forEach(function (track) {
        track.stop();
      });
      stream = null;
    }
    video.hidden = true;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  function look() {
    detector
      .detect(video)
      .then(function (codes) {
        for (var i = 0; i < codes.length; i += 1) {
          var path = target(codes[i].rawValue || "");
          if (path) {
            stop();
            window.location.assign(path);
            return;
          }
          say(texts.foreign, "error");
        }
        timer = window.setTimeout(look, 250);
      })
      .catch(function () {
        timer = window.setTimeout(look, 500);
      });
  }

  function start() {
    say(texts.looking, "");
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        startButton.hidden = true;
        stopButton.hidden = false;
        return video.play();
      })
      .then(function () {
        look();
      })
      .catch(function () {
        stop();
        say(texts.noCamera, "error");
      });
  }

  window.BarcodeDetector.getSupportedFormats()
    .then(function (formats) {
      if (formats.indexOf("qr_code") < 0) {
        return;
      }
      detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      camera.hidden = false;
      if (why) {
        why.hidden = true;
      }
      startButton.addEventListener("click", start);
      stopButton.addEventListener("click", function () {
        stop();
        say("", "");
      });
      window.addEventListener("pagehide", stop);
    })
    .catch(function () {
      // no detector after all: the typed form remains
    });
})();
