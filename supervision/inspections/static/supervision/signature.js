// Signature pads of the on-site record: draw with a finger or stylus (pointer events), clear,
// confirm. A confirmed signature goes through inspection.js's outbox (window.LoopOutbox) as a PNG
// to the signatures API, so it survives a dropped connection or a reload like every answer.
(function () {
  "use strict";
  var outbox = window.LoopOutbox;
  var section = document.getElementById("signatures");
  if (!outbox || !section || !window.HTMLCanvasElement || !window.PointerEvent) {
    return;
  }
  var texts = section.dataset;
  var common = outbox.texts;
  var MAX_WIDTH = 1500; // pixels: a clear signature, far below the server's size limit
  var pads = {};

  function keyOf(signer) {
    return "sign:" + signer.dataset.role + ":" + (signer.dataset.inspector || "");
  }

  function Pad(signer) {
    var canvas = signer.querySelector("canvas");
    var actions = signer.querySelector(".lp-pad-actions");
    var status = signer.querySelector("[data-sign-status]");
    var context = canvas.getContext("2d");
    var drawn = false;
    var last = null;
    var pointer = null;

    canvas.hidden = false;
    actions.hidden = false;

    function blank() {
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.lineWidth = Math.max(2, canvas.width / 250);
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      context.fillStyle = "#111";
    }

    function paint(dataUrl) {
      var image = new Image();
      image.onload = function () {
        blank();
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
      };
      image.src = dataUrl;
      drawn = true;
    }

    function resize() {
      var ratio = window.devicePixelRatio || 1;
      var width = Math.round(Math.min(canvas.clientWidth * ratio, MAX_WIDTH));
      if (!width || width === canvas.width) {
        return;
      }
      var keep = drawn ? canvas.toDataURL("image/png") : null;
      canvas.width = width;
      canvas.height = Math.round(width / 3);
      blank();
      if (keep) {
        paint(keep);
      }
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: ((event.clientX - rect.left) * canvas.width) / rect.width,
        y: ((event.clientY - rect.top) * canvas.height) / rect.height,
      };
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (pointer !== null) {
        return; // a palm or a second finger
      }
      event.preventDefault();
      pointer = event.pointerId;
      canvas.setPointerCapture(event.pointerId);
      last = point(event);
      context.beginPath();
      context.arc(last.x, last.y, context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      drawn = true;
      outbox.setStatus(status, "", "");
    });

    canvas.addEventListener("pointermove", function (event) {
      if (event.pointerId !== pointer) {
        return;
      }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) {
        events = [event];
      }
      events.forEach(function (each) {
        var next = point(each);
        context.beginPath();
        context.moveTo(last.x, last.y);
        context.lineTo(next.x, next.y);
        context.stroke();
        last = next;
      });
    });

    function end(event) {
      if (event.pointerId === pointer) {
        pointer = null;
      }
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);

    signer.querySelector("[data-clear]").addEventListener("click", function () {
      blank();
      drawn = false;
      outbox.setStatus(status, "", "");
    });

    signer.querySelector("[data-sign]").addEventListener("click", function () {
      if (!drawn) {
        outbox.setStatus(status, texts.tEmpty, "error");
        return;
      }
      outbox.enqueue(keyOf(signer), {
        method: "POST",
        url: outbox.url.sign,
        body: {
          role: signer.dataset.role,
          inspector_id: signer.dataset.inspector ? Number(signer.dataset.inspector) : null,
          png_base64: canvas.toDataURL("image/png"),
        },
      });
    });

    window.addEventListener("resize", resize);
    resize();

    return {
      restore: paint,
      status: function (text, kind) {
        outbox.setStatus(status, text, kind);
      },
      signed: function () {
        var badge = document.createElement("span");
        var place = signer.querySelector("[data-signed]");
        badge.className = "badge lp-ok";
        badge.textContent = texts.tSigned;
        place.innerHTML = "";
        place.appendChild(badge);
      },
    };
  }

  Array.prototype.forEach.call(section.querySelectorAll(".lp-signer"), function (signer) {
    pads[keyOf(signer)] = new Pad(signer);
  });

  outbox.on("sign", {
    sending: function (key) {
      if (pads[key]) {
        pads[key].status(texts.tSending, "");
      }
    },
    waiting: function (key) {
      if (pads[key]) {
        pads[key].status(common.tWaiting, "warn");
      }
    },
    saved: function (key) {
      if (pads[key]) {
        // The badge says "Signed"; the status line, which said "Sending…", is emptied, not repeated.
        pads[key].signed();
        pads[key].status("", "");
      }
    },
    refused: function (key, op, text) {
      if (pads[key]) {
        pads[key].status(common.tError + " " + text, "error");
      }
    },
  });

  // A signature confirmed before a reload and not sent yet: show it again; the outbox sends it.
  outbox.pending("sign").forEach(function (entry) {
    if (pads[entry.key]) {
      pads[entry.key].restore(entry.op.body.png_base64);
      pads[entry.key].status(common.tWaiting, "warn");
    }
  });
})();
