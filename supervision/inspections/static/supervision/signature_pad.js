// One signature pad on a canvas, shared by the on-site record (signature.js) and the offline
// tablet (tablet.js): draw with a finger or stylus (pointer events, one pointer at a time, a palm
// or a second finger ignored), clear, keep the drawing across a resize, give it back as a PNG.
// What a confirmed signature then becomes (an outbox request, a journal entry) is the caller's.
(function () {
  "use strict";
  var MAX_WIDTH = 1500; // pixels: a clear signature, far below the server's size limit

  // canvas: the pad; onDraw: called when a stroke begins (the caller clears its status line).
  function SignaturePad(canvas, onDraw) {
    var context = canvas.getContext("2d");
    var drawn = false;
    var last = null;
    var pointer = null;

    function blank() {
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.lineWidth = Math.max(2, canvas.width / 250);
      context.lineCap = "round";
      context.lineJoin = "round";
      context.strokeStyle = "#111";
      context.fillStyle = "#111";
    }

    // Draw a stored signature (a data: URL) over a blank pad.
    function paint(dataUrl) {
      var image = new Image();
      image.onload = function () {
        blank();
        context.drawImage(image, 0, 0, canvas.width, canvas.height);
      };
      image.src = dataUrl;
      drawn = true;
    }

    // Match the canvas's pixels to its size on screen (3:1), keeping what is drawn.
    function fit() {
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
      if (onDraw) {
        onDraw();
      }
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

    blank();
    fit();

    return {
      fit: fit,
      paint: paint,
      clear: function () {
        blank();
        drawn = false;
      },
      drawn: function () {
        return drawn;
      },
      png: function () {
        return canvas.toDataURL("image/png");
      },
    };
  }

  // Whether this browser can draw a signature at all (else the pages' fallbacks apply).
  SignaturePad.supported = function () {
    return !!(window.HTMLCanvasElement && window.PointerEvent);
  };

  window.SignaturePad = SignaturePad;
})();
