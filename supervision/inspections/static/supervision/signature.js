// Signature pads of the on-site record (drawn by signature_pad.js): draw, clear, confirm. A
// confirmed signature goes through inspection.js's outbox (window.LoopOutbox) as a PNG
// to the signatures API, so it survives a dropped connection or a reload like every answer.
(function () {
  "use strict";
  var outbox = window.LoopOutbox;
  var section = document.getElementById("signatures");
  if (!outbox || !section || !window.SignaturePad || !window.SignaturePad.supported()) {
    return;
  }
  var texts = section.dataset;
  var common = outbox.texts;
  var pads = {};

  function keyOf(signer) {
    return "sign:" + signer.dataset.role + ":" + (signer.dataset.inspector || "");
  }

  function Pad(signer) {
    var canvas = signer.querySelector("canvas");
    var actions = signer.querySelector(".lp-pad-actions");
    var status = signer.querySelector("[data-sign-status]");

    canvas.hidden = false;
    actions.hidden = false;
    var pad = new window.SignaturePad(canvas, function () {
      outbox.setStatus(status, "", "");
    });

    signer.querySelector("[data-clear]").addEventListener("click", function () {
      pad.clear();
      outbox.setStatus(status, "", "");
    });

    signer.querySelector("[data-sign]").addEventListener("click", function () {
      if (!pad.drawn()) {
        outbox.setStatus(status, texts.tEmpty, "error");
        return;
      }
      outbox.enqueue(keyOf(signer), {
        method: "POST",
        url: outbox.url.sign,
        body: {
          role: signer.dataset.role,
          inspector_id: signer.dataset.inspector ? Number(signer.dataset.inspector) : null,
          png_base64: pad.png(),
        },
      });
    });

    window.addEventListener("resize", pad.fit);

    return {
      restore: pad.paint,
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
